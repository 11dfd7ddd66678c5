#!/usr/bin/env python3
"""A tiny insightface RecordIO training set written byte for byte as MXNet writes MS1MV2.

No mxnet: the layout is written from dmlc-core's recordio.cc and mxnet.recordio.pack.

  record   uint32 magic 0xced7230a, uint32 lrec = cflag << 29 | length, payload, zero padding
           to 4 bytes. A payload holding the magic word at a 4-aligned offset is split there
           (the magic itself dropped): parts with cflag 1 (first), 2 (middle), 3 (last); a
           reader puts the magic back between parts. Whole records have cflag 0.
  payload  IRHeader '<IfQQ' (flag, label, id, id2), then `flag` float32 labels when flag > 0
           (label is then 0), then the encoded image.
  train.idx  one `key\\toffset` line per record, in write order.
  property   `classes,height,width`.

The MS1MV2 shape: record 0 is the header record (flag 2, labels [first identity record,
end of identity records]); records 1..N are images (grey JPEGs, label a scalar; one carries two
labels, the identity first); then one record per identity (flag 2, labels [first image, end))
with an empty image. Identity 3 and 6 have a single image; one image's JPEG holds the magic
word twice at aligned offsets (in a comment segment), so its record is written in three parts.

expected.json lists, per image record in idx order: key, label, byte length and zlib CRC-32
of the JPEG, and which record is multi-part. Run from the repository root:
python3 tools/reference/make_rec.py
"""
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = "Tests/FFCEngineTests/Fixtures/rec"
SIZE = 112
MAGIC = 0xCED7230A
IMAGES_PER_IDENTITY = [3, 2, 4, 1, 2, 3, 1, 2]


def grey_face(identity, variant):
    """A smooth grey pattern per identity with a small per-image shift (compresses well)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    a = 0.5 + 0.4 * np.sin(6.0 * x * (1 + identity * 0.3) + variant * 0.4) * np.cos(4.0 * y + identity)
    return np.clip(a * 255, 0, 255).astype(np.uint8)


def jpeg(pixels, comment=None):
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="JPEG", quality=40)
    data = buf.getvalue()
    if comment is None:
        return data
    # A COM segment right after SOI: FF FE, big-endian length (counts itself), payload.
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + segment + data[2:]


def pack(flag_labels, label, key, payload):
    """mxnet.recordio.pack: scalar label -> flag 0; a label list -> flag = count, label 0."""
    if flag_labels is None:
        return struct.pack("<IfQQ", 0, label, key, 0) + payload
    labels = np.asarray(flag_labels, dtype=np.float32)
    return struct.pack("<IfQQ", labels.size, 0.0, key, 0) + labels.tobytes() + payload


def write_record(f, data):
    """dmlc RecordIOWriter::WriteRecord."""
    magic = struct.pack("<I", MAGIC)
    parts = 0
    start = 0
    for i in range(0, len(data) // 4 * 4, 4):
        if data[i : i + 4] == magic:
            f.write(magic + struct.pack("<I", (1 if start == 0 else 2) << 29 | (i - start)))
            f.write(data[start:i])
            start = i + 4
            parts += 1
    f.write(magic + struct.pack("<I", (3 if start != 0 else 0) << 29 | (len(data) - start)))
    f.write(data[start:])
    f.write(b"\0" * ((4 - len(data) % 4) % 4))
    return parts + 1


def main():
    os.makedirs(OUT, exist_ok=True)
    images = []  # (key, label, jpeg bytes, labels list or None)
    key = 1
    ranges = []
    for identity, count in enumerate(IMAGES_PER_IDENTITY):
        first = key
        for v in range(count):
            comment = None
            if identity == 2 and v == 1:
                # Payload offset of the comment text: 24-byte IRHeader + 4 (SOI, COM marker)
                # + 2 (length) = 30, so two bytes of filler put the magic at 32 and 40.
                comment = b"ab" + struct.pack("<I", MAGIC) + b"cdef" + struct.pack("<I", MAGIC) + b"gh"
            data = jpeg(grey_face(identity, v), comment)
            labels = [float(identity), 0.25] if (identity == 5 and v == 0) else None
            images.append((key, identity, data, labels))
            key += 1
        ranges.append((first, key))
    first_identity_record = key
    end_identity_records = key + len(IMAGES_PER_IDENTITY)

    offsets = []
    expected = []
    with open(os.path.join(OUT, "train.rec"), "wb") as f:
        def put(k, payload):
            offsets.append((k, f.tell()))
            return write_record(f, payload)

        put(0, pack([first_identity_record, end_identity_records], 0, 0, b""))
        for k, label, data, labels in images:
            parts = put(k, pack(labels, float(label), k, data))
            expected.append(
                {"key": k, "label": label, "bytes": len(data), "crc32": zlib.crc32(data), "parts": parts})
        for identity, (a, b) in enumerate(ranges):
            put(first_identity_record + identity, pack([a, b], 0, first_identity_record + identity, b""))
    with open(os.path.join(OUT, "train.idx"), "w") as f:
        for k, off in offsets:
            f.write(f"{k}\t{off}\n")
    with open(os.path.join(OUT, "property"), "w") as f:
        f.write(f"{len(IMAGES_PER_IDENTITY)},{SIZE},{SIZE}\n")
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(
            {"identities": len(IMAGES_PER_IDENTITY), "images": len(images), "size": SIZE,
             "imagesPerIdentity": IMAGES_PER_IDENTITY, "records": expected}, f, indent=1)
    assert sum(1 for e in expected if e["parts"] == 3) == 1


if __name__ == "__main__":
    main()
