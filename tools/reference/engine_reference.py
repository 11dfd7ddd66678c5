"""Writes the PyTorch parity fixtures the FFCEngine tests read (no PyTorch needed in CI).

    python3 tools/reference/engine_reference.py   # → Tests/FFCEngineTests/Fixtures/engine/

Files (safetensors, float32, every activation already in the engine's NHWC layout and every
weight in the engine's layout, see engine_models.to_engine):
- layers.safetensors: per case `<case>.x`, `.y`, `.dy` (upstream gradient), `.dx`, `.p.<param>`,
  `.g.<param>` (gradient), and for batch norm `.b.<buffer>` before and `.after.<buffer>` after
  the training forward. Loss = Σ y·dy.
- backbones.safetensors: for `mobilefacenet` and `ir18` (embedding 512, 8 images 32×32 — the
  architectures take any multiple of 16; 8 images keep the final BatchNorm1d over the batch
  well conditioned, where 2 images make its output ±γ+β and its gradient a function of ε),
  weights from `engine_models.formula_value` (both sides compute them, so no weights are
  stored), input x and loss weights R from closed formulas, computed in float64, each
  tensor with `<key>.f32error` (PyTorch's own float32 relative error against it):
  `<net>.embedding` (train mode),
  `<net>.loss`, `<net>.dinput`, `<net>.grad.<param>` for a few parameters, `<net>.gradnorms`
  (the L2 norm of every parameter's gradient in sorted name order), `<net>.running.<buffer>`
  for a few running statistics, and `<net>.embedding_eval` (eval mode after that step).
- optim.safetensors: SGD steps and learning-rate schedule sequences.
"""
import json
import math
import os
import struct
import sys
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import engine_models as em

OUT = os.path.join(os.path.dirname(__file__), "../../Tests/FFCEngineTests/Fixtures/engine")


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().cpu().numpy().astype("<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    raw = json.dumps(header, sort_keys=True).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous() if t.dim() == 4 else t


def layer_case(out, case, module, x_nchw, training=True, fn=None, buffers=None):
    torch.manual_seed(zlib.crc32(case.encode()))
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name == "weight" and isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                p.uniform_(0.5, 1.5)
            elif isinstance(module, nn.PReLU):
                p.uniform_(0.1, 0.4)
            else:
                p.uniform_(-0.5, 0.5)
        if buffers:
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
            out[f"{case}.b.running_mean"] = module.running_mean.clone()
            out[f"{case}.b.running_var"] = module.running_var.clone()
    module.train(training)
    x = x_nchw.clone().requires_grad_(True)
    y = fn(x) if fn else module(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    out[f"{case}.x"], out[f"{case}.y"], out[f"{case}.dy"], out[f"{case}.dx"] = nhwc(x), nhwc(y), nhwc(dy), nhwc(x.grad)
    for name, p in module.named_parameters():
        out[f"{case}.p.{name}"] = em.to_engine(module, p.detach())
        out[f"{case}.g.{name}"] = em.to_engine(module, p.grad)
    if buffers:
        out[f"{case}.after.running_mean"] = module.running_mean.clone()
        out[f"{case}.after.running_var"] = module.running_var.clone()


def bn_prelu_case(out, case, x_nchw, training=True):
    """BatchNorm2d then PReLU, the pair the engine fuses into one pass: keys as layer_case's,
    parameters and buffers under the pair's module names (bn.weight, prelu.weight, …)."""
    channels = x_nchw.shape[1]
    pair = nn.Sequential(OrderedDict(bn=nn.BatchNorm2d(channels), prelu=nn.PReLU(channels)))
    torch.manual_seed(zlib.crc32(case.encode()))
    with torch.no_grad():
        pair.bn.weight.uniform_(0.5, 1.5)
        pair.bn.bias.uniform_(-0.5, 0.5)
        pair.prelu.weight.uniform_(0.1, 0.4)
        pair.bn.running_mean.uniform_(-0.2, 0.2)
        pair.bn.running_var.uniform_(0.5, 1.5)
        for name in ("running_mean", "running_var"):
            out[f"{case}.b.bn.{name}"] = getattr(pair.bn, name).clone()
    pair.train(training)
    x = x_nchw.clone().requires_grad_(True)
    y = pair(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    out[f"{case}.x"], out[f"{case}.y"], out[f"{case}.dy"], out[f"{case}.dx"] = nhwc(x), nhwc(y), nhwc(dy), nhwc(x.grad)
    for name, p in pair.named_parameters():
        out[f"{case}.p.{name}"] = p.detach().clone()
        out[f"{case}.g.{name}"] = p.grad.clone()
    for name in ("running_mean", "running_var"):
        out[f"{case}.after.bn.{name}"] = getattr(pair.bn, name).clone()


def layers():
    torch.manual_seed(0)
    out = {}
    r = lambda *s: torch.randn(*s)
    layer_case(out, "conv3x3s2", nn.Conv2d(3, 5, 3, 2, 1, bias=False), r(2, 3, 7, 6))
    layer_case(out, "conv1x1", nn.Conv2d(4, 6, 1, bias=False), r(2, 4, 3, 3))
    layer_case(out, "conv1x1s2", nn.Conv2d(4, 6, 1, 2, bias=False), r(2, 4, 5, 5))
    layer_case(out, "conv5x5", nn.Conv2d(3, 4, 5, 1, 2, bias=False), r(2, 3, 6, 6))
    layer_case(out, "dw3x3s2", nn.Conv2d(12, 12, 3, 2, 1, groups=12, bias=False), r(2, 12, 5, 5))
    layer_case(out, "dw7", nn.Conv2d(16, 16, 7, groups=16, bias=False), r(2, 16, 7, 7))
    layer_case(out, "bn2d", nn.BatchNorm2d(5), r(3, 5, 4, 4), buffers=True)
    layer_case(out, "bn2d_eval", nn.BatchNorm2d(5), r(3, 5, 4, 4), training=False, buffers=True)
    layer_case(out, "bn1d", nn.BatchNorm1d(6), r(4, 6), buffers=True)
    layer_case(out, "prelu", nn.PReLU(5), r(2, 5, 3, 3))
    layer_case(out, "linear", nn.Linear(7, 5), r(3, 7))
    layer_case(out, "relu", nn.ReLU(), r(2, 3, 3, 4))
    layer_case(out, "l2norm", nn.Identity(), r(3, 6), fn=lambda x: F.normalize(x, dim=1))
    bn_prelu_case(out, "bn2d_prelu", r(3, 11, 4, 4))
    bn_prelu_case(out, "bn2d_prelu_eval", r(3, 11, 4, 4), training=False)
    return out


def input_formula(shape):
    j = torch.arange(math.prod(shape), dtype=torch.float64)
    return (torch.sin(0.0123 * j) + 0.5 * torch.cos(0.037 * j)).float().reshape(shape)


def loss_weights(shape):
    j = torch.arange(math.prod(shape), dtype=torch.float64)
    return torch.cos(0.91 * j).float().reshape(shape)


WATCHED = {
    "mobilefacenet": {
        "grads": ["conv1.conv.weight", "conv_3.0.conv_dw.conv.weight", "conv_5.1.project.bn.weight",
                  "conv_6_dw.conv.weight", "features.weight", "features.bias"],
        "running": ["conv1.bn.running_mean", "conv_4.5.project.bn.running_var", "features.running_mean"],
    },
    "ir18": {
        "grads": ["conv1.weight", "layer1.0.bn1.weight", "layer1.0.downsample.0.weight",
                  "layer4.1.prelu.weight", "features.weight"],
        "running": ["bn1.running_var", "layer3.0.downsample.1.running_mean", "features.running_var"],
    },
}


BATCH, SIDE = 8, 32


def backbone_run(name, watched, dtype):
    """One training forward/backward and an eval forward in `dtype`; tensors by fixture key."""
    out = {}
    model = em.make(name, input_size=SIDE)
    em.load_formula_weights(model)
    model = model.to(dtype)
    roles = em.parameter_roles(model)
    model.train()
    x = input_formula((BATCH, SIDE, SIDE, 3)).permute(0, 3, 1, 2).contiguous().to(dtype).requires_grad_(True)
    emb = model(x)
    loss = (emb * loss_weights(tuple(emb.shape)).to(dtype)).sum()
    loss.backward()
    params = dict(model.named_parameters())
    out[f"{name}.embedding"] = emb
    out[f"{name}.loss"] = loss.reshape(1)
    out[f"{name}.dinput"] = nhwc(x.grad)
    for p in watched["grads"]:
        out[f"{name}.grad.{p}"] = em.to_engine(roles[p][0], params[p].grad)
    out[f"{name}.gradnorms"] = torch.stack([params[p].grad.norm() for p in sorted(params)])
    buffers = dict(model.named_buffers())
    for b in watched["running"]:
        out[f"{name}.running.{b}"] = buffers[b]
    model.eval()
    with torch.no_grad():
        out[f"{name}.embedding_eval"] = model(x)
    return {k: v.detach().double() for k, v in out.items()}


def backbones():
    """References are computed in float64; `<key>.f32error` records how far PyTorch's own
    float32 run is from them (‖f32 − f64‖/‖f64‖), the scale the Swift bound is set from."""
    out = {}
    for name, watched in WATCHED.items():
        exact = backbone_run(name, watched, torch.float64)
        single = backbone_run(name, watched, torch.float32)
        for key, ref in exact.items():
            out[key] = ref
            out[key + ".f32error"] = ((single[key] - ref).norm() / ref.norm()).reshape(1)
    return out


def optim():
    out = {}
    torch.manual_seed(1)
    for case, (lr, momentum, nesterov, wd) in {"nesterov": (0.1, 0.9, True, 5e-4), "plain": (0.05, 0.9, False, 1e-4)}.items():
        p = torch.nn.Parameter(torch.randn(2, 3))
        out[f"sgd.{case}.initial"] = p.detach().clone()
        opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=wd)
        for step in range(3):
            g = torch.randn(2, 3)
            p.grad = g.clone()
            opt.step()
            out[f"sgd.{case}.grad{step}"] = g
            out[f"sgd.{case}.after{step}"] = p.detach().clone()
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    rates = []
    for _ in range(11):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    out["schedule.cosine"] = torch.tensor(rates)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 6], gamma=0.1)
    rates = []
    for _ in range(8):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    out["schedule.multistep"] = torch.tensor(rates)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
    metrics = [5.0, 4.0, 4.1, 4.2, 4.05, 3.0, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0]
    rates = []
    for m in metrics:
        sched.step(m)
        rates.append(opt.param_groups[0]["lr"])
    out["schedule.plateau.metrics"] = torch.tensor(metrics)
    out["schedule.plateau.rates"] = torch.tensor(rates)
    return out


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    meta = {"batch": str(BATCH), "side": str(SIDE), "torch": torch.__version__, "script": "tools/reference/engine_reference.py"}
    write_safetensors(os.path.join(OUT, "layers.safetensors"), layers(), meta)
    write_safetensors(os.path.join(OUT, "optim.safetensors"), optim(), meta)
    write_safetensors(os.path.join(OUT, "backbones.safetensors"), backbones(), meta)
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")


if __name__ == "__main__":
    main()
