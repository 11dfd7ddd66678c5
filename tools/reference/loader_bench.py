#!/usr/bin/env python3
"""The original FFC loader's per-image path, timed: lmdb get, protobuf Datum parse,
cv2.imdecode (BGR), random horizontal flip, (v - 127.5) / 128 as float32.

  python3 tools/reference/loader_bench.py --db NAME.lmdb [--kv NAME_kv.txt] --images 2000 --runs 3

Prints one JSON object: {"images_per_second": median over runs, "images_per_cpu_second": the
same per second of this process's CPU time (robust on a shared machine), "runs": [...], ...}.
"""
import argparse
import json
import os
import random
import sys
import time

import cv2
import lmdb
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_original_db import datum_classes  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--kv")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    kv = args.kv or (args.db[:-5] if args.db.endswith(".lmdb") else args.db) + "_kv.txt"
    keys = [line.split()[0].encode() for line in open(kv) if line.strip()]
    rng = random.Random(0)
    Datum, _ = datum_classes()
    cv2.setNumThreads(1)
    env = lmdb.open(args.db, readonly=True, lock=False, readahead=False)
    rates, cpu_rates = [], []
    for _ in range(args.runs):
        order = [keys[rng.randrange(len(keys))] for _ in range(args.images)]
        start = time.perf_counter()
        cpu_start = time.process_time()
        with env.begin() as txn:
            for key in order:
                datum = Datum()
                datum.ParseFromString(txn.get(key))
                img = cv2.imdecode(np.frombuffer(datum.data, np.uint8), cv2.IMREAD_COLOR)
                if rng.random() < 0.5:
                    img = img[:, ::-1]
                _ = (img.astype(np.float32) - 127.5) / 128.0
        rates.append(args.images / (time.perf_counter() - start))
        cpu_rates.append(args.images / (time.process_time() - cpu_start))
    rates.sort()
    cpu_rates.sort()
    print(json.dumps({"images_per_second": rates[len(rates) // 2], "runs": rates, "images": args.images,
                      "images_per_cpu_second": cpu_rates[len(cpu_rates) // 2], "opencv": cv2.__version__}))


if __name__ == "__main__":
    main()
