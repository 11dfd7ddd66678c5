"""Writes Fixtures/eval/val20.bin: an insightface-style verification set for the in-training
validation test (TrainingValidationTests), pickle.dump((bins, issame_list), protocol=4) as
insightface writes lfw.bin. 20 pairs = 40 JPEGs of 32x32 (PIL, quality 85): a pair shows the
same random blob pattern (genuine, even pairs) or two different ones, each with its own noise,
so the set is neither trivially separable nor empty of signal.
Run: python3 tools/reference/make_val_bin.py
"""
import io
import os
import pickle

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "../../Tests/FFCEngineTests/Fixtures/eval/val20.bin")


def pattern(rng):
    img = np.zeros((32, 32, 3), np.float32)
    yy, xx = np.mgrid[0:32, 0:32]
    for _ in range(3):
        cy, cx, r = rng.uniform(6, 26), rng.uniform(6, 26), rng.uniform(3, 8)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] += rng.uniform(60, 200, size=3)
    return img


def jpeg(img, rng):
    noisy = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def main():
    rng = np.random.default_rng(19)
    bins, issame = [], []
    for k in range(20):
        a = pattern(rng)
        same = k % 2 == 0
        b = a if same else pattern(rng)
        bins += [jpeg(a, rng), jpeg(b, rng)]
        issame.append(same)
    with open(OUT, "wb") as f:
        pickle.dump((bins, issame), f, protocol=4)
    print(OUT, len(bins), "images", sum(issame), "genuine pairs")


if __name__ == "__main__":
    main()
