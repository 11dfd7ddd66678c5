"""Runs the graphs `ffc export --onnx` wrote for ONNXExportTests in onnxruntime and writes
Tests/FFCONNXTests/Fixtures/onnx_reference.json: per case (file CASE.onnx beside its input
CASE.input.npy, N×3×S×S float32) the file's CRC-32 and size, onnx.checker's verdict, the
opset, the input and output shapes and onnxruntime's embeddings (CPU provider, float32).

    FFC_ONNX_DUMP=/tmp/ffc-onnx swift test --filter ONNXExportTests
    python3 tools/reference/onnx_reference.py /tmp/ffc-onnx
"""
import glob
import json
import os
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "FFCONNXTests", "Fixtures", "onnx_reference.json")


def run(path):
    raw = open(path, "rb").read()
    model = onnx.load_from_string(raw)
    try:
        onnx.checker.check_model(model, full_check=True)
        checker = "ok"
    except Exception as error:  # the test reports the message
        checker = str(error)
    x = np.load(path[: -len(".onnx")] + ".input.npy").astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(raw, options, providers=["CPUExecutionProvider"])
    (y,) = session.run(["embedding"], {"data": x})
    dims = model.graph.output[0].type.tensor_type.shape.dim
    return {
        "crc32": zlib.crc32(raw) & 0xFFFFFFFF,
        "bytes": len(raw),
        "checker": checker,
        "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        "input": list(x.shape),
        "output": [d.dim_value if d.HasField("dim_value") else None for d in dims],
        "embedding": y.astype(np.float64).tolist(),
        "onnxruntime": ort.__version__,
    }


def main():
    directory = sys.argv[1]
    out = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.onnx"))):
        name = os.path.basename(path)[: -len(".onnx")]
        out[name] = run(path)
        print(name, out[name]["bytes"], "bytes, checker:", out[name]["checker"])
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, OUT)
    print(os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
