"""Reference for FFC Console's identification protocol (Sources/FFCEngine/Evaluation/Identification.swift).

Our own numpy code for MegaFace-style identification: rank-1 over gallery + distractors
(first argmax, gallery first; a hit when the best candidate is a gallery entry of the probe's
identity), and TAR at FAR from 2^16-bin histograms over [-1, 1] of genuine scores (probe x
same-identity gallery) and impostor scores (probe x other gallery, probe x every distractor);
the threshold for a target FAR is the lowest bin edge whose impostor share is <= the target.

Embeddings are small integers / 64 (|dot| <= 1), so float32 dot products are exact in any
summation order and Swift's sgemm must give the same scores, bins and ties bit for bit.
Writes Tests/FFCEngineTests/Fixtures/eval/identify_*.npy and identify_expected.json.
Run: python3 tools/reference/identify_reference.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "../../Tests/FFCEngineTests/Fixtures/eval")
BINS = 1 << 16
FAR_TARGETS = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]


def bin_of(s):
    s = s.astype(np.float32)
    return np.clip(((s + np.float32(1)) * np.float32(BINS // 2)).astype(np.int64), 0, BINS - 1)


def identify(probes, plabels, gallery, glabels, distractors):
    cand = np.concatenate([gallery, distractors])
    scores = probes @ cand.T
    g = len(gallery)
    best = np.argmax(scores, axis=1)
    hit = (best < g) & (glabels[np.minimum(best, g - 1)] == plabels)
    same = plabels[:, None] == glabels[None, :]
    gen = scores[:, :g][same]
    imp = np.concatenate([scores[:, :g][~same], scores[:, g:].ravel()])
    hg = np.bincount(bin_of(gen), minlength=BINS)
    hi = np.bincount(bin_of(imp), minlength=BINS)
    imp_above = np.concatenate([np.cumsum(hi[::-1])[::-1], [0]])
    gen_above = np.concatenate([np.cumsum(hg[::-1])[::-1], [0]])
    rows = []
    for target in FAR_TARGETS:
        if len(imp) * target < 1:
            continue
        b = int(np.nonzero(imp_above <= target * len(imp))[0][0])
        rows.append({
            "far_target": target,
            "threshold": -1 + 2 * b / BINS,
            "far": float(imp_above[b] / len(imp)),
            "tar": float(gen_above[b] / len(gen)),
        })
    return {"rank1": float(np.mean(hit)), "genuine_count": int(len(gen)), "impostor_count": int(len(imp)), "tar_at_far": rows}


def main():
    rng = np.random.default_rng(11)
    dim, ids, per_id, n_distractors = 32, 100, 3, 2000
    base = rng.integers(-8, 9, (ids, dim))
    gallery = base
    glabels = np.arange(ids)
    probes = np.clip(np.repeat(base, per_id, 0) + rng.integers(-5, 6, (ids * per_id, dim)), -11, 11)
    plabels = np.repeat(np.arange(ids), per_id)
    plabels[-3:] = 1000  # an identity without a gallery entry: always a miss
    distractors = rng.integers(-11, 12, (n_distractors, dim))
    distractors[:40] = np.clip(probes[:40] + rng.integers(-3, 4, (40, dim)), -11, 11)  # look-alikes
    f = lambda x: (x / 64).astype(np.float32)
    gallery, probes, distractors = f(gallery), f(probes), f(distractors)
    np.save(os.path.join(OUT, "identify_gallery.npy"), gallery)
    np.save(os.path.join(OUT, "identify_probes.npy"), probes)
    np.save(os.path.join(OUT, "identify_distractors.npy"), distractors)
    np.save(os.path.join(OUT, "identify_gallery_labels.npy"), glabels.astype(np.int64))
    np.save(os.path.join(OUT, "identify_probe_labels.npy"), plabels.astype(np.int64))
    expected = identify(probes, plabels, gallery, glabels, distractors)
    with open(os.path.join(OUT, "identify_expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1)
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
