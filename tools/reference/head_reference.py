#!/usr/bin/env python3
"""PyTorch reference of one FFC head step on given features (no backbone), written
independently of the Swift code from the method as the FFC paper and the original code
define it, for the Swift tests to match.

Pool: banks (2, Q, D), a position bit per slot, a plain-Python LRU (OrderedDict: least recent
first; a miss takes the lowest free slot, else evicts the least recent key and reuses its
slot). Pass 1 writes G(y), computes the loss of P(x) and is undone by restoring a copy of the
whole state (not by a journal, so the Swift journal is checked against something different);
pass 2 writes G(x), computes the loss of P(y) and keeps its writes. Logits: cos0 = p·bank0ᵀ,
cos1 = p·Wᵀ with W mixed from the full banks by a mask of dual slots, as the original does.
Loss per matrix: margin cross-entropy averaged over in-pool rows + mean over (outlier rows × k)
of the top-k cosines clipped at 0. Gradients come from autograd.

The reference is computed in float64 from the float32 inputs. `out.loss.f32bound` (absolute,
per loss part) and `out.grad_x.f32bound`, `out.grad_y.f32bound` (‖error‖/‖reference‖) bound a
float32 evaluation's error under f32bound.py's model: the step is rerun 16 times with the
model's noise on the two cosine matrices (d-term dot products), the margin's element-wise
operations, the engine's exp (relative error ≤ 4e-7, tested in VectorExpTests), each row's
softmax sum (q terms) forward and backward, and the probe gradient's
q-term sums; the bound is 4 × the root mean square error over the runs + 4u.

Writes Tests/FFCEngineTests/Fixtures/head/<case>_<margin>.safetensors.
Usage: python3 tools/reference/head_reference.py [output_dir]
"""
import copy
import json
import math
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import f32bound
from f32bound import U, _sum_sigma


class PlainLRU:
    def __init__(self, capacity):
        self.capacity = capacity
        self.order = OrderedDict()  # key -> slot, least recent first
        self.free = list(range(capacity))

    def contains(self, key):
        return key in self.order

    def get(self, key):
        """Returns (slot, evicted) where evicted tells whether a key left the cache."""
        if key in self.order:
            self.order.move_to_end(key)
            return self.order[key], False
        if self.free:
            slot = self.free.pop(0)
            evicted = False
        else:
            _, slot = self.order.popitem(last=False)
            evicted = True
        self.order[key] = slot
        return slot, evicted

    def view(self, key):
        return self.order.get(key, -1)


class Pool:
    def __init__(self, bank, position, keys):
        self.bank = bank.clone()  # (2, Q, D)
        self.position = list(position)
        self.lru = PlainLRU(bank.shape[1])
        for k in keys:  # least recent first, from an empty cache
            self.lru.get(k)

    def write(self, g, labels):
        dual = set()
        rows, cols = [], []
        evictions = 0
        for y in labels:
            present = self.lru.contains(y)
            slot, evicted = self.lru.get(y)
            evictions += int(evicted)
            if present:
                rows.append(self.position[slot])
                dual.add(slot)
                self.position[slot] ^= 1
            else:
                rows.append(0)
                self.position[slot] = 1
            cols.append(slot)
        for i, (r, c) in enumerate(zip(rows, cols)):  # batch order: the last write to a row stays
            self.bank[r, c] = g[i]
        return dual, evictions


def margin_matrix_loss(cos, target, kind, s, m, hard_k, noise=None):
    """(margin CE averaged over in-pool rows, outlier mean over outlier rows × k)."""
    inpool = [i for i, t in enumerate(target) if t >= 0]
    outl = [i for i, t in enumerate(target) if t < 0]
    ce = cos.new_zeros(())
    if inpool:
        c = cos[inpool]
        t = torch.tensor([target[i] for i in inpool])
        onehot = torch.nn.functional.one_hot(t, c.shape[1]).bool()
        gt = c.gather(1, t.view(-1, 1))
        if kind == "AM":
            tl = gt - m
            logits = torch.where(onehot, tl, c)
        elif kind == "Arc":
            theta_cos = gt * math.cos(m) - torch.sqrt(1.0 - gt * gt) * math.sin(m)
            logits = torch.where(onehot, theta_cos, c)
        else:
            hard = c > gt - m
            c2 = torch.where(hard, 1.2 * c + 0.2, c)
            tl = torch.where(gt > m, gt - m, gt)
            logits = torch.where(onehot, tl, c2)
        z = s * logits
        if noise is not None:
            z = with_softmax_noise(z, t, noise)
        ce = torch.nn.functional.cross_entropy(z, t)
    neg = cos.new_zeros(())
    if outl:
        top = torch.topk(cos[outl], hard_k, dim=1).values
        neg = top.clamp(min=0).mean()
    return ce, neg


EXP_ERROR = 4e-7  # the engine's vectorised exp: relative error ≤ 4e-7 (VectorExpTests)


def with_softmax_noise(z, t, noise):
    """z carrying the margin's element-wise rounding (at most 6 operations, forward and
    backward), each exp's error (uniform within EXP_ERROR) and each row's softmax-sum error
    (q terms): on the row's loss forward and on every probability of the row backward."""
    q = z.shape[1]
    elementwise = lambda v: noise.noise(U * 2 * v.abs())  # σ of 6 roundings: √(6/3)·u·|v|
    exp_sigma = EXP_ERROR / 3**0.5
    with torch.no_grad():
        prob = torch.softmax(z, 1)
        sum_sigma = U * ((q + 1) / 3.0 * ((prob**2).sum(1, keepdim=True) / 2 + 1 / 3.0)).sqrt()
        # −log p_t = log Σexp − z_t: the sum's error, the exps' inside it and the target's own
        row = (sum_sigma**2 + exp_sigma**2 * ((prob**2).sum(1, keepdim=True) + 1)).sqrt()
    forward_row = noise.noise(row)
    backward_row = noise.noise(sum_sigma)
    backward_exp = noise.noise(exp_sigma * torch.ones_like(prob))
    z = z + elementwise(z.detach()) + forward_row  # log Σexp shifts by the row's error
    z = z - forward_row.detach() * torch.nn.functional.one_hot(t, q)  # …which the target cancels once
    z.register_hook(lambda g: g + elementwise(g) + prob * (backward_row + backward_exp) / z.shape[0])
    return z


def noisy_cosines(p, w, noise):
    cos = p @ w.t()
    if noise is None:
        return cos
    cos = cos + noise.noise(_sum_sigma(cos.detach(), p.detach() ** 2 @ (w**2).t(), p.shape[1]))
    cos.register_hook(lambda g: noise.record(g, w))
    return cos


class HeadNoise:
    """The float32 error model's noise for one pass; `finish(p)` adds the probe gradient's."""

    def __init__(self, seed):
        self.generator = torch.Generator().manual_seed(seed)
        self.upstream = []

    def noise(self, scale):
        return f32bound._gauss(scale, self.generator)

    def record(self, g, w):
        self.upstream.append((g.detach(), w))
        return g

    def finish(self, p):
        with torch.no_grad():
            for g, w in self.upstream:
                p.grad.add_(self.noise(_sum_sigma(g @ w, g**2 @ w**2, w.shape[0])))


def ffc_pass(pool, p, p_labels, g, g_labels, kind, s, m, noise=None):
    dual, evictions = pool.write(g, g_labels)
    target = [pool.lru.view(y) for y in p_labels]
    q = pool.bank.shape[1]
    hard_k = min(q, min(max(int(q * 0.0002), 3), 10))
    p = p.double().clone().requires_grad_(True)
    bank = pool.bank.double()
    cos0 = noisy_cosines(p, bank[0], noise)
    mask = torch.zeros(q, 1, dtype=torch.float64)
    if dual:
        mask[list(dual), 0] = 1
    w = mask * bank[1] + (1 - mask) * bank[0]
    cos1 = noisy_cosines(p, w, noise)
    ce0, neg0 = margin_matrix_loss(cos0, target, kind, s, m, hard_k, noise)
    ce1, neg1 = margin_matrix_loss(cos1, target, kind, s, m, hard_k, noise)
    total = ce0 + neg0 + ce1 + neg1
    total.backward()
    if noise is not None:
        noise.finish(p)
    return (ce0 + ce1).item(), (neg0 + neg1).item(), p.grad.detach(), evictions


def unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return torch.from_numpy(x / np.linalg.norm(x, axis=1, keepdims=True))


def save(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        if a.dtype == np.float32:
            dt = "F32"
        else:
            a = a.astype(np.int64)
            dt = "I64"
        b = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make_case(name, seed, q, d, labels_x, labels_y, initial_keys, pair_rows, kind, step=7):
    rng = np.random.default_rng(seed)
    b = len(labels_x)
    bank = torch.stack([unit(rng, q, d), unit(rng, q, d)])
    position = rng.integers(0, 2, q).astype(np.int64)
    position[len(initial_keys):] = 0
    px, py, gx, gy = unit(rng, b, d), unit(rng, b, d), unit(rng, b, d), unit(rng, b, d)
    s, m = 32.0, {"AM": 0.4, "Arc": 0.5, "SV": 0.35}[kind]
    start = Pool(bank, position.tolist(), initial_keys)

    def run_step(seed=None):
        pool = copy.deepcopy(start)
        noise = lambda k: None if seed is None else HeadNoise(1000 * seed + k)
        m1, o1, grad_x, _ = ffc_pass(pool, px, labels_x, gy, labels_y, kind, s, m, noise(1))
        pool = copy.deepcopy(start)  # roll pass 1 back
        m2, o2, grad_y, evictions = ffc_pass(pool, py, labels_y, gx, labels_x, kind, s, m, noise(2))
        return torch.tensor([m1, o1, m2, o2], dtype=torch.float64), grad_x, grad_y, pool, evictions

    loss, grad_x, grad_y, pool, evictions = run_step()
    m1, o1, m2, o2 = loss.tolist()
    runs = [run_step(seed) for seed in range(f32bound.RUNS)]
    rms = lambda errors: torch.stack(errors).pow(2).mean(0).sqrt()
    loss_bound = 4 * rms([r[0] - loss for r in runs]) + 4 * U * loss.abs()
    grad_bound = lambda i, ref: 4 * rms([(r[i] - ref).norm() / ref.norm() for r in runs]) + 4 * U
    order = list(pool.lru.order.items())[::-1]  # most recent first
    t = {
        "in.bank": bank.numpy(),
        "in.position": position,
        "in.lru_keys": np.array(initial_keys, dtype=np.int64),
        "in.probe_x": px.numpy(), "in.probe_y": py.numpy(),
        "in.gallery_x": gx.numpy(), "in.gallery_y": gy.numpy(),
        "in.labels_x": np.array(labels_x), "in.labels_y": np.array(labels_y),
        "in.config": np.array([pair_rows, step, ["AM", "Arc", "SV"].index(kind)]),
        "in.scale_margin": np.array([s, m], dtype=np.float32),
        "out.loss": np.array([m1, o1, m2, o2], dtype=np.float32),
        "out.loss.f32bound": loss_bound.numpy().astype(np.float32),
        "out.grad_x": grad_x.numpy().astype(np.float32), "out.grad_y": grad_y.numpy().astype(np.float32),
        "out.grad_x.f32bound": np.array([grad_bound(1, grad_x)], dtype=np.float32),
        "out.grad_y.f32bound": np.array([grad_bound(2, grad_y)], dtype=np.float32),
        "out.bank": pool.bank.numpy(),
        "out.position": np.array(pool.position),
        "out.lru_keys": np.array([k for k, _ in order]), "out.lru_slots": np.array([v for _, v in order]),
        "out.evictions": np.array([evictions]),
    }
    return f"{name}_{kind}", t


def cases():
    out = []
    for kind in ("AM", "Arc", "SV"):
        # Repeated identities in one batch, empty pool: pairs (0,0),(1,1),(2,2),(0,0 again),
        # instance halves with repeats, so slots alternate banks and rows are written twice.
        out.append(make_case("repeated", 11, 16, 8, [0, 1, 2, 0, 5, 5, 1], [0, 1, 2, 0, 6, 5, 7], [], 4, kind))
        # Outliers: instance labels that are never written stay outside the pool.
        out.append(make_case("outliers", 12, 12, 8, [3, 4, 5, 40, 41, 42], [3, 4, 5, 50, 51, 4], [3, 9], 3, kind))
        # Full pool with evictions (cache pre-filled, least recent first).
        out.append(make_case("evictions", 13, 6, 8, [1, 20, 21, 3, 22, 20], [1, 20, 21, 23, 24, 25],
                             [1, 2, 3, 4, 5, 6], 3, kind))
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "Tests", "FFCEngineTests", "Fixtures", "head")
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    for name, t in cases():
        save(os.path.join(outdir, name + ".safetensors"), t)
        print(name, "loss parts", t["out.loss"].tolist(), "evictions", int(t["out.evictions"][0]))


if __name__ == "__main__":
    main()
