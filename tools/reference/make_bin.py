"""Writes small insightface-style verification sets for InsightfaceBinTests.

An insightface .bin is pickle.dump((bins, issame_list)): bins = encoded images, images 2k and
2k+1 form pair k. Three encodings of the same 3-pair set (6 JPEGs, 32x32, made with cv2):
  tiny_p4.bin   Python 3 bytes, protocol 4 (FRAME, SHORT_BINBYTES, MEMOIZE ...)
  tiny_p2.bin   Python 3 bytes, protocol 2 (bytes become _codecs.encode(text, 'latin1'))
  tiny_py2.bin  what Python 2's cPickle protocol 2 wrote for str images (SHORT_BINSTRING /
                BINSTRING, BINPUT), written opcode by opcode since Python 3 cannot emit it
  numpy_flags.bin  flags as numpy.bool_ (refused with a clear error)
plus tiny_expected.json (flags, image byte lengths). Run: python3 tools/reference/make_bin.py
"""
import json
import os
import pickle
import struct

import cv2
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "../../Tests/FFCEngineTests/Fixtures/eval")


def images():
    out = []
    for k in range(6):
        img = np.zeros((32, 32, 3), np.uint8)
        img[:, :, k % 3] = 40 * k
        cv2.circle(img, (16, 16), 4 + 2 * k, (255, 255 - 30 * k, 60), -1)
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        out.append(enc.tobytes())
    return out


def py2_pickle(bins, issame):
    b = bytearray(b"\x80\x02")
    b += b"]q\x00("
    for img in bins:
        b += (b"U" + bytes([len(img)])) if len(img) < 256 else (b"T" + struct.pack("<I", len(img)))
        b += img
    b += b"e]q\x01("
    for s in issame:
        b += b"\x88" if s else b"\x89"
    b += b"e\x86q\x02."
    return bytes(b)


def main():
    bins = images()
    issame = [True, False, True]
    with open(os.path.join(OUT, "tiny_p4.bin"), "wb") as f:
        pickle.dump((bins, issame), f, protocol=4)
    with open(os.path.join(OUT, "tiny_p2.bin"), "wb") as f:
        pickle.dump((bins, issame), f, protocol=2)
    py2 = py2_pickle(bins, issame)
    assert pickle.loads(py2, encoding="bytes") == (bins, issame)
    with open(os.path.join(OUT, "tiny_py2.bin"), "wb") as f:
        f.write(py2)
    with open(os.path.join(OUT, "numpy_flags.bin"), "wb") as f:
        pickle.dump((bins, [np.bool_(s) for s in issame]), f, protocol=2)
    with open(os.path.join(OUT, "tiny_expected.json"), "w") as f:
        json.dump({"issame": issame, "lengths": [len(x) for x in bins]}, f)


if __name__ == "__main__":
    main()
