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
- r50.safetensors: the same keys for `r50` (ResNet-50, 4 images at 64×64: it takes any multiple
  of 32, and 4 images keep its 2×2 last stage and the final BatchNorm1d well conditioned), plus
  metadata `parameters_224`, its parameter count at its own 224×224 input. Its formula weights
  carry the chirp term (engine_models.formula_value).

    python3 tools/reference/engine_reference.py r50   # writes r50.safetensors alone
"""
import copy
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
import f32bound

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


def _step(module, x32, dy32, training, fn, noise_seed):
    """Forward and backward of a float64 copy of `module` on float32 inputs, under the float32
    error model when `noise_seed` is given: y, dx, parameter gradients, buffers after."""
    m = copy.deepcopy(module).double()
    noise = None if noise_seed is None else f32bound.Float32Noise(m, noise_seed)
    m.train(training)
    x = x32.double().requires_grad_(True)
    y = (fn(x, noise) if fn else m(x))
    (y * dy32.double()).sum().backward()
    if noise is not None:
        noise.finish()
    out = {"y": nhwc(y), "dx": nhwc(x.grad)}
    for name, p in m.named_parameters():
        out[f"g.{name}"] = em.to_engine(dict(m.named_modules())[name.rpartition(".")[0]], p.grad)
    for name, b in m.named_buffers():
        if not name.endswith("num_batches_tracked"):
            out[f"after.{name}"] = b.clone()
    return {k: v.detach() for k, v in out.items()}


def reference_case(out, case, module, x_nchw, training, fn=None):
    """Stores the float32 inputs and parameters as the engine reads them, the float64
    reference of one step, and each result's `.f32bound` (f32bound.py)."""
    module.train(training)
    with torch.no_grad():
        y_shape = (fn(x_nchw.double(), None) if fn else copy.deepcopy(module).double()(x_nchw.double())).shape
    dy = torch.randn(y_shape)
    out[f"{case}.x"], out[f"{case}.dy"] = nhwc(x_nchw), nhwc(dy)
    modules = dict(module.named_modules())
    for name, p in module.named_parameters():
        out[f"{case}.p.{name}"] = em.to_engine(modules[name.rpartition(".")[0]], p.detach())
    for name, b in module.named_buffers():
        if not name.endswith("num_batches_tracked"):
            out[f"{case}.b.{name}"] = b.clone()
    run = lambda seed: _step(module, x_nchw, dy, training, fn, seed)
    exact = run(None)
    for key, ref in exact.items():
        out[f"{case}.{key}"] = ref
    for key, bound in f32bound.bounds(run, exact).items():
        out[f"{case}.{key}"] = bound


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
    reference_case(out, case, module, x_nchw, training, fn)


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
    reference_case(out, case, pair, x_nchw, training)


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
    layer_case(out, "l2norm", nn.Identity(), r(3, 6), fn=f32bound.normalize)
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
R50_WATCHED = {
    "grads": ["conv1.weight", "layer1.0.conv2.weight", "layer2.0.downsample.0.weight", "layer4.2.bn3.weight",
              "layer3.0.conv1.weight", "features.bias"],
    "running": ["bn1.running_mean", "layer3.5.bn2.running_var", "features.running_mean"],
}
R50_BATCH, R50_SIDE = 4, 64


def backbone_run(name, watched, dtype, noise_seed=None, batch=BATCH, side=SIDE):
    """One training forward/backward and an eval forward in `dtype`, under the float32 error
    model when `noise_seed` is given; tensors by fixture key. Inputs are rounded to float32
    first: the engine reads them as float32."""
    out = {}
    model = em.make(name, input_size=side)
    em.load_formula_weights(model, chirp=name == "r50")
    model = model.to(dtype)
    roles = em.parameter_roles(model)
    noise = None if noise_seed is None else f32bound.Float32Noise(model, noise_seed)
    model.train()
    x = input_formula((batch, side, side, 3)).float().permute(0, 3, 1, 2).contiguous().to(dtype).requires_grad_(True)
    emb = model(x)
    loss = (emb * loss_weights(tuple(emb.shape)).float().to(dtype)).sum()
    loss.backward()
    if noise is not None:
        noise.finish()
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


def backbones(nets=WATCHED, batch=BATCH, side=SIDE):
    """References are computed in float64; `<key>.f32bound` is the float32 error bound of
    f32bound.py (what the Swift test allows) and `<key>.f32error` how far PyTorch's own
    float32 run is from the reference (‖f32 − f64‖/‖f64‖, printed beside the engine's)."""
    out = {}
    for name, watched in nets.items():
        run = lambda dtype, seed=None: backbone_run(name, watched, dtype, seed, batch, side)
        exact = run(torch.float64)
        single = run(torch.float32)
        out.update(f32bound.bounds(lambda seed: run(torch.float64, seed), exact))
        for key, ref in exact.items():
            out[key] = ref
            out[key + ".f32error"] = ((single[key] - ref).norm() / ref.norm()).reshape(1)
    return out


def write_r50():
    meta = {"batch": str(R50_BATCH), "side": str(R50_SIDE), "torch": torch.__version__,
            "script": "tools/reference/engine_reference.py",
            "parameters_224": str(sum(p.numel() for p in em.make("r50", input_size=224).parameters()))}
    write_safetensors(os.path.join(OUT, "r50.safetensors"), backbones({"r50": R50_WATCHED}, R50_BATCH, R50_SIDE), meta)


def optim():
    out = {}
    torch.manual_seed(1)
    for case, (lr, momentum, nesterov, wd) in {"nesterov": (0.1, 0.9, True, 5e-4), "plain": (0.05, 0.9, False, 1e-4)}.items():
        # float64 steps from float32 values: the reference is exact to the engine's inputs
        p = torch.nn.Parameter(torch.randn(2, 3).double())
        out[f"sgd.{case}.initial"] = p.detach().clone()
        opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=wd)
        for step in range(3):
            g = torch.randn(2, 3).double()
            p.grad = g.clone()
            opt.step()
            out[f"sgd.{case}.grad{step}"] = g
            out[f"sgd.{case}.after{step}"] = p.detach().clone()
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    rates = []
    for _ in range(11):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    out["schedule.cosine"] = torch.tensor(rates, dtype=torch.float64)
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
    if sys.argv[1:] == ["r50"]:
        write_r50()
        print("r50.safetensors", os.path.getsize(os.path.join(OUT, "r50.safetensors")), "bytes")
        return
    meta = {"batch": str(BATCH), "side": str(SIDE), "torch": torch.__version__, "script": "tools/reference/engine_reference.py"}
    write_safetensors(os.path.join(OUT, "layers.safetensors"), layers(), meta)
    write_safetensors(os.path.join(OUT, "optim.safetensors"), optim(), meta)
    write_safetensors(os.path.join(OUT, "backbones.safetensors"), backbones(), meta)
    write_r50()
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")


if __name__ == "__main__":
    main()
