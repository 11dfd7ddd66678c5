"""numpy baseline for `ffc bench eval`: identification scoring of P probes against D distractors
(d-dim, blocks of B rows) the way Identification.swift does it — per block one float32 matmul,
then each probe's best score and a 2^16-bin histogram of all scores. Distractor generation is
not timed. Prints one JSON object: {"pairs_per_second": ..., "seconds": ..., "gemm_gflops": ...}.
Run: python3 tools/reference/eval_bench.py --probes 2000 --distractors 50000 --dim 512 --block 4096
"""
import argparse
import json
import time

import numpy as np

BINS = 1 << 16


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probes", type=int, default=2000)
    ap.add_argument("--distractors", type=int, default=50000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--block", type=int, default=4096)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    unit = lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    probes = unit(rng.standard_normal((a.probes, a.dim)))
    best = np.full(a.probes, -np.inf, np.float32)
    hist = np.zeros(BINS, np.int64)
    scoring = gemm = 0.0
    for start in range(0, a.distractors, a.block):
        n = min(a.block, a.distractors - start)
        block = unit(rng.standard_normal((n, a.dim)))
        t0 = time.perf_counter()
        s = probes @ block.T
        t1 = time.perf_counter()
        np.maximum(best, s.max(axis=1), out=best)
        b = ((s + np.float32(1)) * np.float32(BINS // 2)).astype(np.int64).ravel()
        np.clip(b, 0, BINS - 1, out=b)
        hist += np.bincount(b, minlength=BINS)
        t2 = time.perf_counter()
        gemm += t1 - t0
        scoring += t2 - t0
    pairs = a.probes * a.distractors
    print(json.dumps({
        "pairs_per_second": pairs / scoring,
        "seconds": scoring,
        "gemm_gflops": 2 * pairs * a.dim / gemm / 1e9,
    }))


if __name__ == "__main__":
    main()
