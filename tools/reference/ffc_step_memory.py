"""PyTorch side of `ffc bench memory --vs-pytorch`: the FFC training step on CPU, with the
engine's nets (engine_models.py), and its peak resident memory.

    python3 tools/reference/ffc_step_memory.py --model mobilefacenet --batch 64 --steps 20 --json

One step, as Trainer.runStep does it (B pairs + B instances, halves x and y of 1.5·B images):
G ← α·G + (1−α)·P (no_grad); G(y), G(x) under no_grad in training mode (batch statistics, as
the original FFC); pass 1: P(x) against the pool after writing G(y), the pool writes undone;
pass 2: P(y) against the pool after writing G(x), kept; one backward of loss₁ + loss₂ (both
graphs alive, as autograd needs); SGD (momentum 0.9, Nesterov, weight decay 5e-4). The head
is the FFC pool (two banks of Q×D, an LRU of identity → slot) with CosFace logits (s = 32,
m = 0.4) and the outlier term (top-k pool cosines clipped at 0).

Inputs are random images drawn per step (no decoder, no database): what is measured is the
step's memory — the nets, their gradients and momentum, the gallery net, the pool, the
activations autograd keeps — plus the interpreter and torch itself (`--baseline` reports the
RSS right after import and model construction, so the step's share can be told apart).
Prints one line (or one JSON object) with the peak RSS from getrusage(RUSAGE_SELF).
"""
import argparse
import collections
import copy
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import engine_models as em


def rss_mib():
    """Resident memory now (MiB), from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class ClassPool:
    """Two banks of Q unit vectors, a position bit per slot and an LRU identity → slot, with
    pass 1's writes journaled and undone (the original FFC's rollback)."""

    def __init__(self, slots, dim, generator):
        self.banks = F.normalize(torch.randn(2, slots, dim, generator=generator), dim=2)
        self.position = torch.zeros(slots, dtype=torch.long)
        self.lru = collections.OrderedDict()  # label → slot, least recent first
        self.slots = slots

    def write(self, features, labels, journal=None):
        dual = torch.zeros(self.slots, dtype=torch.bool)
        for row, label in enumerate(labels.tolist()):
            if label in self.lru:
                slot = self.lru[label]
                if journal is not None:
                    journal.append(("touch", label, slot, self.banks[:, slot].clone(), int(self.position[slot]), None))
                self.lru.move_to_end(label)
                bank = int(self.position[slot])
                dual[slot] = True
                self.position[slot] = 1 - bank
            else:
                evicted = None
                if len(self.lru) < self.slots:
                    slot = len(self.lru)
                else:
                    evicted, slot = self.lru.popitem(last=False)
                if journal is not None:
                    journal.append(("insert", label, slot, self.banks[:, slot].clone(), int(self.position[slot]), evicted))
                self.lru[label] = slot
                bank = 0
                self.position[slot] = 1
            self.banks[bank, slot] = features[row]
        return dual

    def undo(self, journal):
        for kind, label, slot, rows, position, evicted in reversed(journal):
            self.banks[:, slot] = rows
            self.position[slot] = position
            if kind == "insert":
                del self.lru[label]
                if evicted is not None:
                    self.lru[evicted] = slot
                    self.lru.move_to_end(evicted, last=False)
            else:
                self.lru.move_to_end(label, last=False)

    def view(self, labels):
        return torch.tensor([self.lru.get(label, -1) for label in labels.tolist()])


def pool_loss(p, pool, labels, dual, s=32.0, m=0.4):
    """loss(cos₀) + loss(cos₁) of the probe features p against the pool."""
    target = pool.view(labels)
    inside = target >= 0
    k = min(max(int(0.0002 * pool.slots), 3), 10)
    # Copies: the pool is data, rewritten before autograd reads these logits' inputs back.
    mixed = torch.where(dual[:, None], pool.banks[1], pool.banks[0])
    total = p.new_zeros(())
    for bank in (pool.banks[0].clone(), mixed):
        cos = p @ bank.t()
        if inside.any():
            c = cos[inside]
            onehot = F.one_hot(target[inside], pool.slots).bool()
            total = total + F.cross_entropy(s * torch.where(onehot, c - m, c), target[inside])
        if (~inside).any():
            total = total + cos[~inside].topk(k, dim=1).values.clamp(min=0).mean()
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mobilefacenet")
    ap.add_argument("--batch", type=int, default=64, help="B: identity pairs (and instances) per step")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--queue-size", type=int, default=200)
    ap.add_argument("--identities", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    probe = em.make(a.model, 512, a.size)
    gallery = copy.deepcopy(probe)
    for p in gallery.parameters():
        p.requires_grad_(False)
    pool = ClassPool(a.queue_size, 512, generator)
    opt = torch.optim.SGD(probe.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    probe.train()
    gallery.train()
    baseline = rss_mib()
    half = a.batch // 2
    rows = a.batch + half  # 1.5·B per half
    started = time.perf_counter()
    losses = []
    for _ in range(a.steps):
        pair_labels = torch.randint(a.identities, (a.batch,), generator=generator)
        instance_labels = torch.randint(a.identities, (a.batch,), generator=generator)
        labels_x = torch.cat([pair_labels, instance_labels[:half]])
        labels_y = torch.cat([pair_labels, instance_labels[half:]])
        x = torch.randn(rows, 3, a.size, a.size, generator=generator)
        y = torch.randn(rows, 3, a.size, a.size, generator=generator)
        with torch.no_grad():
            for g, p in zip(gallery.parameters(), probe.parameters()):
                g.mul_(0.99).add_(p, alpha=0.01)
            gallery_y = F.normalize(gallery(y), dim=1)
            gallery_x = F.normalize(gallery(x), dim=1)
        opt.zero_grad(set_to_none=False)
        probe_x = F.normalize(probe(x), dim=1)
        probe_y = F.normalize(probe(y), dim=1)
        journal = []
        dual = pool.write(gallery_y, labels_y, journal)
        loss1 = pool_loss(probe_x, pool, labels_x, dual)
        pool.undo(journal)
        dual = pool.write(gallery_x, labels_x)
        loss2 = pool_loss(probe_y, pool, labels_y, dual)
        loss = loss1 + loss2
        loss.backward()
        opt.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - started
    row = {
        "model": a.model, "batch": a.batch, "probe_images_per_step": 2 * rows, "steps": a.steps,
        "size": a.size, "queue_size": a.queue_size, "threads": a.threads, "torch": torch.__version__,
        "baseline_rss_mib": round(baseline, 1), "peak_rss_mib": round(peak_mib(), 1),
        "seconds": round(seconds, 1), "last_loss": losses[-1],
    }
    if a.json:
        print(json.dumps(row))
    else:
        print(f"pytorch {a.model} B={a.batch}: peak RSS {row['peak_rss_mib']} MiB "
              f"(after setup {row['baseline_rss_mib']} MiB), {a.steps} steps in {row['seconds']} s, "
              f"last loss {row['last_loss']:.4f}")


if __name__ == "__main__":
    main()
