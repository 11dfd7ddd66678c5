"""PyTorch side of `ffc bench engine`: the same architectures (engine_models.py), same
batch, input size and thread count; prints one JSON object with images per second.

    python3 tools/reference/engine_bench.py --model ir18 --batch 32 --threads 2 --mode train --runs 3

A train step is forward + backward of Σ embedding·R + SGD (momentum 0.9, Nesterov, wd 5e-4);
infer is an eval-mode forward under no_grad. Reports the median of `--runs` timed steps after
one warm-up step.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
import engine_models as em


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--mode", choices=["train", "infer"], required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=112)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = em.make(a.model, 512, a.size)
    x = torch.randn(a.batch, 3, a.size, a.size)
    r = torch.randn(a.batch, 512)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)

    def step():
        if a.mode == "train":
            model.train()
            opt.zero_grad(set_to_none=False)
            (model(x) * r).sum().backward()
            opt.step()
        else:
            model.eval()
            with torch.no_grad():
                model(x)

    step()
    times = []
    for _ in range(a.runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(json.dumps({"model": a.model, "mode": a.mode, "threads": a.threads, "batch": a.batch,
                      "img_per_s": a.batch / seconds, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
