"""Writes Fixtures/eval/val20.bin: an insightface-style verification set for the in-training
validation test (TrainingValidationTests), pickle.dump((bins, issame_list), protocol=4) as
insightface writes lfw.bin. 20 pairs = 40 JPEGs of 32x32 (PIL, quality 85): a pair shows the
same three random blobs (genuine, even pairs) or patterns sharing two of three blobs, each
image with its own heavy noise (sd 50), so the pairs are not trivially separable.
Run: python3 tools/reference/make_val_bin.py
"""
import io
import os
import pickle

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "../../Tests/FFCEngineTests/Fixtures/eval/val20.bin")


def blobs(rng, n):
    return [(rng.uniform(6, 26), rng.uniform(6, 26), rng.uniform(3, 8), rng.uniform(60, 200, size=3)) for _ in range(n)]


def draw(shapes):
    img = np.zeros((32, 32, 3), np.float32)
    yy, xx = np.mgrid[0:32, 0:32]
    for cy, cx, r, colour in shapes:
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] += colour
    return img


def jpeg(img, rng):
    noisy = np.clip(img + rng.normal(0, 50, img.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def main():
    rng = np.random.default_rng(19)
    bins, issame = [], []
    for k in range(20):
        shapes = blobs(rng, 3)
        same = k % 2 == 0
        # An impostor shares two of the three blobs: close, but not the same pattern.
        other = shapes if same else shapes[:2] + blobs(rng, 1)
        a, b = draw(shapes), draw(other)
        bins += [jpeg(a, rng), jpeg(b, rng)]
        issame.append(same)
    with open(OUT, "wb") as f:
        pickle.dump((bins, issame), f, protocol=4)
    print(OUT, len(bins), "images", sum(issame), "genuine pairs")


if __name__ == "__main__":
    main()
