#!/usr/bin/env python3
"""PyTorch timing of the same head math and shapes as `ffc bench head`, run by that command
as a subprocess. FFC: one step = two passes as the original computes them (write gallery rows
by index, build the mixed bank W over the whole pool, cos0 = p·bank0ᵀ and cos1 = p·Wᵀ, AM
margin CE over in-pool rows + top-k outlier term, autograd into p; pass 1 restores the rows it
overwrote). fc / pfc: margin CE over N (or ⌈r·N⌉ sampled) normalised weight rows, backward into
features and weights, SGD with momentum. Label streams are simulated; features are random
unit vectors. Prints one JSON object per row: {"head", "identities", "pool", "step_ms", "rss_bytes"}.

Usage: head_bench.py --rows "ffc:10000:100,fc:10000:0" [--batch 256] [--dim 512] [--runs 3]
"""
import argparse
import json
import math
import resource
import statistics
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


class LRU:
    def __init__(self, cap):
        self.cap, self.od, self.free = cap, OrderedDict(), list(range(cap - 1, -1, -1))

    def get(self, k):
        if k in self.od:
            self.od.move_to_end(k)
            return self.od[k]
        slot = self.free.pop() if self.free else self.od.popitem(last=False)[1]
        self.od[k] = slot
        return slot


def am_loss(cos, target, s=32.0, m=0.4, hard_k=3):
    inpool = target >= 0
    loss = cos.new_zeros(())
    if inpool.any():
        c = cos[inpool]
        t = target[inpool]
        c = c.scatter(1, t.view(-1, 1), c.gather(1, t.view(-1, 1)) - m)
        loss = loss + F.cross_entropy(s * c, t)
    if (~inpool).any():
        loss = loss + torch.topk(cos[~inpool], hard_k, dim=1).values.clamp(min=0).mean()
    return loss


def ffc_pass(queue, pos, lru, p, g, p_labels, g_labels, keep):
    q = queue.shape[1]
    rows, cols, dual = [], [], set()
    saved = {}
    for y in g_labels:
        present = y in lru.od
        slot = lru.get(y)
        saved.setdefault(slot, pos[slot])
        if present:
            rows.append(pos[slot]); dual.add(slot); pos[slot] ^= 1
        else:
            rows.append(0); pos[slot] = 1
        cols.append(slot)
    r, c = torch.tensor(rows), torch.tensor(cols)
    old = queue[r, c].clone()
    queue[r, c] = g
    target = torch.tensor([lru.od.get(y, -1) for y in p_labels])
    p = p.clone().requires_grad_(True)
    mask = torch.zeros(q, 1)
    if dual:
        mask[list(dual), 0] = 1
    w = mask * queue[1] + (1 - mask) * queue[0]
    hard_k = min(max(int(q * 0.0002), 3), 10)
    loss = am_loss(F.linear(p, queue[0]), target, hard_k=hard_k) + am_loss(F.linear(p, w), target, hard_k=hard_k)
    loss.backward()
    if not keep:
        queue[r, c] = old
        for k, v in saved.items():
            pos[k] = v
    return loss.item()


def unit(n, d):
    return F.normalize(torch.randn(n, d), dim=1)


def labels(n_ids, b, gen):
    pairs = torch.randint(0, n_ids, (b,), generator=gen).tolist()
    inst = torch.randint(0, n_ids, (b,), generator=gen).tolist()
    return pairs + inst[: b // 2], pairs + inst[b // 2:]


def bench_ffc(n_ids, q, b, d, runs, gen):
    queue = F.normalize(torch.rand(2, q, d), dim=2)
    pos, lru = [0] * q, LRU(q)
    times = []
    for i in range(runs + 1):
        lx, ly = labels(n_ids, b, gen)
        px, py, gx, gy = (unit(len(lx), d) for _ in range(4))
        t0 = time.perf_counter()
        ffc_pass(queue, pos, lru, px, gy, lx, ly, keep=False)
        # pass 1's LRU writes stay in this timing model (the original rolls them back in C++).
        ffc_pass(queue, pos, lru, py, gx, ly, lx, keep=True)
        if i > 0:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_fc(n_ids, rate, b, d, runs, gen):
    weight = torch.nn.Parameter(torch.randn(n_ids, d))
    opt = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
    times = []
    for i in range(runs + 1):
        lx, ly = labels(n_ids, b, gen)
        y = torch.tensor(lx + ly)
        x = unit(len(y), d).requires_grad_(True)
        t0 = time.perf_counter()
        if rate < 1:
            want = max(int(math.ceil(n_ids * rate)), 1)
            pos = torch.unique(y)
            perm = torch.randperm(n_ids, generator=gen)[: want]
            idx = torch.unique(torch.cat([pos, perm]))[: max(want, pos.numel())]
            idx = torch.unique(torch.cat([pos, idx]))
            remap = torch.searchsorted(idx, y)
            w = F.normalize(weight[idx], dim=1)
        else:
            remap = y
            w = F.normalize(weight, dim=1)
        cos = F.linear(x, w)
        cos = cos.scatter(1, remap.view(-1, 1), cos.gather(1, remap.view(-1, 1)) - 0.4)
        loss = F.cross_entropy(32 * cos, remap)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i > 0:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True, help="head:identities:pool_or_rate_percent,…")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    for spec in a.rows.split(","):
        head, n, extra = spec.split(":")
        n = int(n)
        base = rss_bytes()
        if head == "ffc":
            ms = bench_ffc(n, int(extra), a.batch, a.dim, a.runs, gen) * 1000
        else:
            ms = bench_fc(n, float(extra) / 100 if head == "pfc" else 1.0, a.batch, a.dim, a.runs, gen) * 1000
        print(json.dumps({"head": head, "identities": n, "pool": int(extra), "step_ms": ms,
                          "rss_bytes": rss_bytes() - base, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
