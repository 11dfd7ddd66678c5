#!/usr/bin/env python3
"""Writes the seed inputs of every harness: a few small valid files per parser, into
Fuzzing/seeds/<Harness>/. scripts/fuzz starts each run from these plus the committed corpus
(Fuzzing/corpus/<Harness>/, the minimised result of earlier runs). Needs numpy."""
import io, json, os, pickle, struct, sys, zlib

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def put(harness, name, data):
    d = os.path.join(root, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# Datum: protobuf, Caffe layout and the one-field layout of the import tool.
def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)

jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 12 + b"\xff\xd9"
caffe = (varint(1 << 3) + varint(3) + varint(2 << 3) + varint(112) + varint(3 << 3) + varint(96)
         + varint(4 << 3 | 2) + varint(len(jpeg)) + jpeg + varint(5 << 3) + varint(7) + varint(7 << 3) + varint(1))
put("FuzzDatum", "caffe", caffe)
put("FuzzDatum", "onefield", varint(1 << 3 | 2) + varint(len(jpeg)) + jpeg)
put("FuzzDatum", "floats", caffe + varint(6 << 3 | 5) + struct.pack("<f", 1.5) + varint(8 << 3 | 1) + b"\0" * 8)

# kv files.
put("FuzzKVFile", "fixture", open(os.path.join(repo, "Tests/FFCEngineTests/Fixtures/data/caffe_kv.txt"), "rb").read())
put("FuzzKVFile", "crlf", "a/0001.jpg 0\r\n\r\nb/0002.jpg\t12\r\n")

# Themes: the shipped ones.
for name in sorted(os.listdir(os.path.join(repo, "themes"))):
    if name.endswith(".theme"):
        put("FuzzTheme", name, open(os.path.join(repo, "themes", name), "rb").read())

# safetensors: as SafeTensorsFile.encode writes them, one with a checksum.
def safetensors(tensors, metadata=None):
    header, data, off = {}, b"", 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in sorted(tensors.items()):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        data += raw
    j = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    j += b" " * (-len(j) % 8)
    return struct.pack("<Q", len(j)) + j + data

tensors = {"w": ("F32", [2, 3], np.arange(6, dtype="<f4").tobytes()),
           "step": ("I64", [1], np.array([7], dtype="<i8").tobytes()),
           "bits": ("U8", [4], b"\x01\x02\x03\x04")}
put("FuzzSafeTensors", "plain", safetensors(tensors, {"format": "pt"}))
blank = safetensors(tensors, {"crc32": "00000000"})
crc = "%08x" % zlib.crc32(blank)
put("FuzzSafeTensors", "checksum", blank.replace(b'"crc32":"00000000"', b'"crc32":"' + crc.encode() + b'"'))
put("FuzzSafeTensors", "empty", safetensors({}))

# .npy: numpy's own writer, versions 1 and 2, float32 and int64.
def npy(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()

put("FuzzNPY", "f32_2d", npy(np.arange(6, dtype="<f4").reshape(2, 3)))
put("FuzzNPY", "i64_1d", npy(np.arange(3, dtype="<i8")))
put("FuzzNPY", "f32_v2", npy(np.zeros((1, 2), dtype="<f4"), (2, 0)))
put("FuzzNPY", "f32_v3", npy(np.zeros((2,), dtype="<f4"), (3, 0)))
put("FuzzNPY", "scalar", npy(np.float32(1.0).reshape(())))

# insightface .bin: (bins, issame) pickles, protocols 2-5, bytes and the latin1 form.
bins = [b"\xff\xd8img%d\xff\xd9" % i for i in range(4)]
for proto in (2, 3, 4, 5):
    put("FuzzInsightfaceBin", "p%d" % proto, pickle.dumps((bins, [True, False]), protocol=proto))
put("FuzzInsightfaceBin", "numpy_like_flags", pickle.dumps((bins[:2], [1]), protocol=4))

# Pair lists: first byte picks the format (0 detect, 1 index, 2 keys, 3 lfw).
put("FuzzPairList", "index", b"\x01" + b"0 1 1\n2 3 0\n# comment\n4 5 true\n")
put("FuzzPairList", "keys", b"\x02" + b"face_0000 face_0001 same\nface_0002 face_0003 diff\n")
put("FuzzPairList", "lfw", b"\x03" + b"10\t300\nAbel_Pacheco\t1\t4\nAbdel_Madi_Shabneh\t1\tDean_Barker\t1\n")
put("FuzzPairList", "detect", b"\x00" + open(os.path.join(repo, "Tests/FFCEngineTests/Fixtures/eval/verify_pairs.txt"), "rb").read()[:400])

# config.json as TrainingConfig.encodedJSON() writes it (a subset: missing keys keep defaults).
config = {"queue_size": 7409, "batch_size": 64, "alpha": 0.99, "loss_type": "AM", "margin": 0.4, "scale": 32,
          "feat_dim": 512, "net_type": "tiny", "input_size": 0, "head": "ffc", "pfc_sample_rate": 0.1,
          "queue_size_at": [{"step": 10, "queue_size": 100}], "LR": 0.1, "LR_min": 1e-5, "epochs": 19,
          "milestones": [8, 14, 17], "gammas": [0.1, 0.1, 0.1], "warmup": 0, "patience": 4,
          "scheduler": "multistep", "momentum": 0.9, "decay": 0.0001, "nesterov": True, "seed": 1,
          "run_dir": "runs/run", "max_steps": 0, "checkpoint_every": 1000, "checkpoint_keep": 3,
          "validation_every": 0, "validation_database": "", "validation_pairs": "", "workers": 2,
          "log_every": 1, "databases": ["/data/a.lmdb"]}
put("FuzzTrainingConfig", "full", json.dumps(config, indent=2, sort_keys=True))
put("FuzzTrainingConfig", "plateau", json.dumps({"scheduler": "ReduceLROnPlateau", "head": "pfc", "seed": 18446744073709551615}))

# The original FFC's optim_config.
put("FuzzOptimConfig", "original", json.dumps({
    "scheduler": ["str", "multistep"], "epochs": ["int", "19"], "warmup": ["int", 0], "patience": ["int", "4"],
    "milestones": ["int", [8, 14, 17]], "gammas": ["float", ["0.1", 0.1, "0.1"]], "LR_min": ["float", "1e-5"],
    "optim": ["str", "SGD"], "LR": ["float", "0.1"], "decay": ["float", "0.0001"], "momentum": ["float", 0.9],
    "nesterov": ["bool", "1"]}, indent=1))
put("FuzzOptimConfig", "plateau", '{"scheduler": ["str", "ReduceLROnPlateau"], "nesterov": ["bool", false]}')

# Control-socket lines (Swift's synthesized Codable for enums with associated values).
lines = {
    "snapshot": {"id": 1, "request": {"snapshot": {}}},
    "subscribe": {"id": 2, "request": {"subscribe": {"hz": 4}}},
    "inspect": {"id": 3, "request": {"inspect": {"sort": "recency", "offset": 0, "limit": 20}}},
    "lookup": {"id": 4, "request": {"lookup": {"identity": 12}}},
    "sample": {"id": 5, "request": {"sampleImage": {"identity": 3}}},
    "set_lr": {"id": 6, "request": {"command": {"_0": {"setLearningRate": {"_0": 0.01}}}}},
    "pause": {"id": 7, "request": {"command": {"_0": {"pause": {}}}}},
    "reply_slot": {"reply": {"id": 3, "_1": {"slot": {"_0": {
        "slot": 0, "identity": 1, "recencyRank": 0, "ageSteps": 2, "writes": 3, "positionBit": 0,
        "bankCosine": "nan", "nearestIdentity": 4, "nearestCosine": 0.5}}}}},
    "reply_image": {"reply": {"id": 5, "_1": {"image": {"_0": {"width": 1, "height": 1, "rgb": [1, 2, 3]}}}}},
    "reply_error": {"reply": {"id": 9, "_1": {"error": {"_0": "no such identity"}}}},
    "delta": {"delta": {"_0": {"recordsTotal": 1, "eventsTotal": 1, "snapshot": {
        "runName": "r", "netType": "tiny", "head": "ffc", "identities": 10, "images": 100, "featureDim": 64,
        "batchSize": 8, "step": 1, "maxSteps": 0, "epoch": 0, "epochs": 1, "epochProgress": 0.1,
        "paused": False, "finished": False, "etaSeconds": "inf", "poolBytesPerSlot": 256,
        "history": [], "events": [{"step": 1, "kind": "info", "message": "hi", "wallTime": 1.0}]}}}},
}
for name, obj in lines.items():
    put("FuzzControlMessage", name, json.dumps(obj, separators=(",", ":")) + "\n")

# libFuzzer dictionaries (-dict) for the formats whose tokens random mutation rarely spells.
def dictionary(harness, tokens):
    d = os.path.join(os.path.dirname(root), "dict")
    os.makedirs(d, exist_ok=True)
    def esc(t):
        return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "\\x%02x" % ord(c) for c in t)
    with open(os.path.join(d, harness + ".dict"), "w") as f:
        for t in sorted(set(tokens)):
            f.write('"%s"\n' % esc(t))

numbers = ["0", "-1", "1e400", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
           "18446744073709551615", "4294967295", "1.5", "\"inf\"", "\"nan\"", "\"-inf\"", "null", "true", "false"]
dictionary("FuzzTrainingConfig", ['"%s":' % k for k in config] + numbers + ['"AM"', '"Arc"', '"SV"', '"fc"', '"pfc"', '"cosine"'])
dictionary("FuzzOptimConfig", ['"%s":' % k for k in ["scheduler", "epochs", "warmup", "patience", "milestones",
           "gammas", "LR_min", "optim", "LR", "decay", "momentum", "nesterov"]]
           + ['"str"', '"int"', '"bool"', '"float"', '"none"', '"SGD"', '"multistep"', '"cosine"'] + numbers)
control_keys = ["id", "request", "command", "_0", "_1", "inspect", "sort", "offset", "limit", "lookup", "identity",
                "sampleImage", "snapshot", "subscribe", "hz", "setQueueSize", "setLearningRate", "pause", "resume",
                "checkpointNow", "stop", "reply", "delta", "accepted", "slots", "slot", "image", "error", "width",
                "height", "rgb", "recordsTotal", "eventsTotal", "history", "events", "kind", "message", "wallTime"]
dictionary("FuzzControlMessage", ['"%s":' % k for k in control_keys] + numbers + ['"recency"', '"age"', '"writes"', '"drift"', "{}"])
dictionary("FuzzSafeTensors", ['"dtype":', '"shape":', '"data_offsets":', '"__metadata__":', '"crc32":"', '"F32"',
           '"I64"', '"U8"', '"F16"'] + numbers + ["\xff\xff\xff\xff\xff\xff\xff\x7f"])
dictionary("FuzzNPY", ["\x93NUMPY", "'descr':", "'fortran_order':", "'shape':", "'<f4'", "'<i8'", "'float32'",
           "True", "False", "9223372036854775807L", "(", ")", ","])
dictionary("FuzzInsightfaceBin", ["\x80\x02", "\x80\x04", "\x95", "c_codecs\nencode\n", "latin1", "\x8c\x06latin1",
           "\xff\xff\xff\xff\xff\xff\xff\x7f", "\xff\xff\xff\xff"])
print("seeds in", root)
