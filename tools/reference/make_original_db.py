#!/usr/bin/env python3
"""Tiny training databases written the way the original FFC's tools write them.

Python lmdb + protobuf + OpenCV, exactly the original path: images are BGR arrays encoded
with cv2.imencode('.jpg'), wrapped in a protobuf Datum, stored under string keys, with a
`key label` kv file beside each LMDB. Two Datum layouts, as in the original code:

  caffe.lmdb     Caffe-style Datum (channels=1, height=2, width=3, data=4 bytes, label=5,
                 float_data=6, encoded=7): what the original loader parses; real databases.
  onefield.lmdb  the one-field Datum of the original import tool (data=1 bytes).

Both hold the same image bytes: colour JPEGs, grey JPEGs (2-D arrays), one PNG, identities
with one image and a label gap (an identity with no images). expected.safetensors holds what
the original loader feeds the network for each kv line, unflipped: cv2.imdecode(IMREAD_COLOR)
(BGR), then (v - 127.5) / 128, shape (N, H, W, 3) float32, plus the labels.

Run from the repository root: python3 tools/reference/make_original_db.py
"""
import json
import os
import shutil
import struct

import cv2
import lmdb
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

OUT = "Tests/FFCEngineTests/Fixtures/data"
SIZE = 32


def datum_classes():
    """Builds both Datum messages from descriptors (no protoc needed)."""
    fdp = descriptor_pb2.FileDescriptorProto(name="ffc_datum.proto", package="ffc", syntax="proto2")
    caffe = fdp.message_type.add(name="Datum")
    F = descriptor_pb2.FieldDescriptorProto
    for name, number, ftype, label in [
        ("channels", 1, F.TYPE_INT32, F.LABEL_OPTIONAL),
        ("height", 2, F.TYPE_INT32, F.LABEL_OPTIONAL),
        ("width", 3, F.TYPE_INT32, F.LABEL_OPTIONAL),
        ("data", 4, F.TYPE_BYTES, F.LABEL_OPTIONAL),
        ("label", 5, F.TYPE_INT32, F.LABEL_OPTIONAL),
        ("float_data", 6, F.TYPE_FLOAT, F.LABEL_REPEATED),
        ("encoded", 7, F.TYPE_BOOL, F.LABEL_OPTIONAL),
        ("x1", 8, F.TYPE_FLOAT, F.LABEL_OPTIONAL),
        ("y1", 9, F.TYPE_FLOAT, F.LABEL_OPTIONAL),
        ("x2", 10, F.TYPE_FLOAT, F.LABEL_OPTIONAL),
        ("y2", 11, F.TYPE_FLOAT, F.LABEL_OPTIONAL),
    ]:
        caffe.field.add(name=name, number=number, type=ftype, label=label)
    one = fdp.message_type.add(name="OneFieldDatum")
    one.field.add(name="data", number=1, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = message_factory.GetMessageClass
    return get(pool.FindMessageTypeByName("ffc.Datum")), get(pool.FindMessageTypeByName("ffc.OneFieldDatum"))


def face(identity, variant, grey):
    """A smooth deterministic picture (JPEG-friendly) per identity and variant, BGR uint8."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    rng = np.random.RandomState(1000 * identity + variant)
    base = rng.uniform(40, 200, size=3)
    img = np.empty((SIZE, SIZE, 3), np.float32)
    for c in range(3):
        img[..., c] = base[c] + 40 * np.sin((x + 3 * identity) / (4 + c)) + 30 * np.cos((y + variant) / 5)
    cx, cy = SIZE / 2 + rng.uniform(-4, 4), SIZE / 2 + rng.uniform(-4, 4)
    img[((x - cx) ** 2 / 64 + (y - cy) ** 2 / 100) < 1] = (30 + 20 * identity) % 255
    img = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if grey else img


# (key, label, grey, png): labels 0-based, label 4 has no images (a gap), 2 and 5 are singletons.
ENTRIES = [
    ("face_0000", 0, False, False),
    ("face_0001", 0, False, False),
    ("face_0002", 0, True, False),
    ("face_0003", 1, False, False),
    ("face_0004", 1, True, False),
    ("face_0005", 2, True, False),
    ("face_0006", 3, False, True),
    ("face_0007", 3, False, False),
    ("face_0008", 5, False, False),
]


def main():
    Caffe, OneField = datum_classes()
    os.makedirs(OUT, exist_ok=True)
    encoded = []
    for i, (key, label, grey, png) in enumerate(ENTRIES):
        img = face(label, i, grey)
        ok, buf = cv2.imencode(".png" if png else ".jpg", img, [] if png else [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        encoded.append(buf.tobytes())

    for name, make in [
        ("caffe", lambda b, lab, ch: Caffe(channels=ch, height=SIZE, width=SIZE, data=b, label=lab, encoded=True)),
        ("onefield", lambda b, lab, ch: OneField(data=b)),
    ]:
        path = os.path.join(OUT, name + ".lmdb")
        shutil.rmtree(path, ignore_errors=True)
        env = lmdb.open(path, map_size=1 << 22)
        with env.begin(write=True) as txn:
            for (key, label, grey, _), b in zip(ENTRIES, encoded):
                txn.put(key.encode(), make(b, label, 1 if grey else 3).SerializeToString())
        env.close()
        os.remove(os.path.join(path, "lock.mdb"))
        with open(os.path.join(OUT, name + "_kv.txt"), "w") as f:
            for key, label, _, _ in ENTRIES:
                f.write(f"{key} {label}\n")

    # What the original loader computes per record (no flip).
    pixels = np.stack(
        [(cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR).astype(np.float32) - 127.5) / 128 for b in encoded]
    )
    labels = np.array([e[1] for e in ENTRIES], np.int64)
    write_safetensors(os.path.join(OUT, "expected.safetensors"), {"pixels": pixels, "labels": labels})


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr).tobytes()
        dtype = {np.float32: "F32", np.int64: "I64"}[arr.dtype.type]
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


if __name__ == "__main__":
    main()
