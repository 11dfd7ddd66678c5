"""How far any float32 evaluation of a network's step can be from the exact (float64) one:
the bound the parity tests hold the engine to.

The model (Higham's standard model, first order, with Higham & Mary's probabilistic
assumption): a float32 result of an n-term accumulation carries the error Σ_k δ_k·s_k, one
rounding per term, the δ_k independent, zero-mean and |δ_k| ≤ u = 2⁻²⁴ (variance ≤ u²/3), s_k
the partial sums. Partial sums of terms t_i in an order the computation does not choose
(blocked, vectorised, split among threads) walk from 0 to the result y: mean square
E[s_k²] ≤ (k/n)·Σt_i² + (k/n)²·y², so over the n roundings
    σ² ≤ u²/3 · (n+1) · (Σt_i²/2 + y²/3).
(The worst case over all orders, n·u²/3·(Σ|t_i|)², is √n times larger and bounds nothing a
test could use on a 20-layer net.) An element-wise operation adds u²/3·|result|² per rounding.

`Float32Noise` hooks a float64 model and, in every layer, adds to each result a Gaussian error
with that variance bound: convolution and linear outputs, their input and weight gradients,
batch-norm statistics (one error per channel, shared by its elements, and carried into the
running buffers as PyTorch's update would), batch-norm's backward sums, PReLU. The errors
travel through the rest of the step as real rounding errors do, so one such run is one sample
of a float32 evaluation that rounds as badly as the model allows. `bounds` repeats the step
`RUNS` times and states, per output tensor, 4 × the root mean square of its relative error
‖run − exact‖/‖exact‖ over the runs (four standard deviations of a Gaussian error) plus 4u
(the float32 storage of the reference and of the tested value).
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

U = 2.0**-24
RUNS = 16


def _gauss(scale, generator):
    return torch.randn(scale.shape, generator=generator, dtype=scale.dtype) * scale


def _sum_sigma(result, squares, n):
    """σ of an n-term float32 sum whose value is `result` and whose terms' squares sum to
    `squares` (tensors of the result's shape)."""
    return U * ((n + 1) / 3.0 * (squares / 2 + result**2 / 3)).sqrt()


def _mean_sigma(mean, mean_square, n):
    """σ of the float32 mean of n terms with mean `mean` and mean square `mean_square`."""
    return _sum_sigma(n * mean, n * mean_square, n) / n


class Float32Noise:
    """Adds the float32 error model's noise to every Conv2d, Linear, BatchNorm and PReLU of a
    float64 model, forward and backward; `finish()` adds it to the parameter gradients once
    backward is done."""

    LAYERS = (nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.PReLU)

    def __init__(self, model, seed):
        self.generator = torch.Generator().manual_seed(seed)
        self.seen = {}
        self.running = {}
        self.handles = []
        for m in model.modules():
            if isinstance(m, self.LAYERS):
                self.handles.append(m.register_forward_hook(self.forward))
                self.handles.append(m.register_full_backward_hook(self.backward))

    def noise(self, scale):
        return _gauss(scale, self.generator)

    # Forward: the layer's output gets its accumulation error.
    def forward(self, m, inputs, y):
        x = inputs[0].detach()
        with torch.no_grad():
            if isinstance(m, nn.Conv2d):
                n = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                squares = F.conv2d(x**2, m.weight**2, None, m.stride, m.padding, m.dilation, m.groups)
                delta = self.noise(_sum_sigma(y.detach(), squares, n))
                self.seen[m] = {"x": x}
            elif isinstance(m, nn.Linear):
                squares = x**2 @ (m.weight**2).t()
                if m.bias is not None:
                    squares = squares + m.bias**2
                delta = self.noise(_sum_sigma(y.detach(), squares, m.in_features + 1))
                self.seen[m] = {"x": x}
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                delta = self.batch_norm_forward(m, x, y)
            else:  # PReLU: one rounding per element
                delta = self.noise(U / math.sqrt(3.0) * y.detach().abs())
                self.seen[m] = {"x": x}
        return y + delta

    def batch_norm_forward(self, m, x, y):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        n = x.numel() // x.shape[1]
        gamma, beta = m.weight.view(shape), m.bias.view(shape)
        if m.training:
            mean = x.mean(dims, keepdim=True)
            var = x.var(dims, unbiased=False, keepdim=True)
        else:
            mean, var = m.running_mean.view(shape), m.running_var.view(shape)
        std = (var + m.eps).sqrt()
        xhat = (x - mean) / std
        # subtract, scale by 1/std, by γ, add β: four roundings of at most the result's size
        delta = self.noise(U * math.sqrt(4 / 3.0) * ((gamma * xhat).abs() + beta.abs()))
        if m.training:
            d_mean = self.noise(_mean_sigma(mean, (x**2).mean(dims, keepdim=True), n))
            d_var = self.noise(_mean_sigma(var, ((x - mean) ** 4).mean(dims, keepdim=True), n))
            delta = delta - gamma / std * d_mean - gamma * xhat / (2 * std**2) * d_var
            # applied in finish(): backward still needs the buffers as they are
            self.running[m] = (m.momentum * d_mean.flatten(), m.momentum * d_var.flatten() * n / (n - 1))
        self.seen[m] = {"xhat": xhat, "std": std, "n": n, "dims": dims, "shape": shape}
        return delta

    # Backward: the gradient sent to the layer's input gets its accumulation error.
    def backward(self, m, grad_input, grad_output):
        if grad_input[0] is None:
            self.seen.setdefault(m, {})["dy"] = grad_output[0].detach()
            return None
        dy = grad_output[0].detach()
        dx = grad_input[0]
        seen = self.seen.setdefault(m, {})
        seen["dy"] = dy
        with torch.no_grad():
            if isinstance(m, nn.Conv2d):
                n = m.out_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                squares = torch.nn.grad.conv2d_input(
                    seen["x"].shape, m.weight**2, dy**2, m.stride, m.padding, m.dilation, m.groups)
                delta = self.noise(_sum_sigma(dx, squares, n))
            elif isinstance(m, nn.Linear):
                delta = self.noise(_sum_sigma(dx, dy**2 @ m.weight**2, m.out_features))
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                delta = self.batch_norm_backward(m, seen, dy)
            else:
                delta = self.noise(U / math.sqrt(3.0) * dx.abs())
        return (dx + delta,) + tuple(grad_input[1:])

    def batch_norm_backward(self, m, seen, dy):
        xhat, std, n, dims, shape = seen["xhat"], seen["std"], seen["n"], seen["dims"], seen["shape"]
        gamma = m.weight.view(shape).abs()
        if not m.training:
            return self.noise(U * math.sqrt(2 / 3.0) * gamma / std * dy.abs())
        a = dy.mean(dims, keepdim=True)
        b = (dy * xhat).mean(dims, keepdim=True)
        d_a = self.noise(_mean_sigma(a, (dy**2).mean(dims, keepdim=True), n))
        d_b = self.noise(_mean_sigma(b, ((dy * xhat) ** 2).mean(dims, keepdim=True), n))
        elementwise = self.noise(U * math.sqrt(4 / 3.0) * gamma / std * (dy.abs() + a.abs() + (xhat * b).abs()))
        return -gamma / std * (d_a + xhat * d_b) + elementwise

    def finish(self):
        """Parameter gradients are sums over the batch (and positions): their own error. The
        running statistics take their share of the batch statistics' error."""
        with torch.no_grad():
            for m, (d_mean, d_var) in self.running.items():
                m.running_mean.add_(d_mean)
                m.running_var.add_(d_var)
            for m, seen in self.seen.items():
                if "dy" not in seen:
                    continue
                dy = seen["dy"]
                if isinstance(m, nn.Conv2d) and m.weight.grad is not None:
                    n = dy.shape[0] * dy.shape[2] * dy.shape[3]
                    squares = torch.nn.grad.conv2d_weight(
                        seen["x"] ** 2, m.weight.shape, dy**2, m.stride, m.padding, m.dilation, m.groups)
                    m.weight.grad.add_(self.noise(_sum_sigma(m.weight.grad, squares, n)))
                elif isinstance(m, nn.Linear) and m.weight.grad is not None:
                    n = dy.shape[0]
                    m.weight.grad.add_(self.noise(_sum_sigma(m.weight.grad, (dy**2).t() @ seen["x"] ** 2, n)))
                    if m.bias is not None:
                        m.bias.grad.add_(self.noise(_sum_sigma(m.bias.grad, (dy**2).sum(0), n)))
                elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.weight.grad is not None:
                    n, dims = seen["n"], seen["dims"]
                    m.weight.grad.add_(self.noise(_sum_sigma(m.weight.grad, ((dy * seen["xhat"]) ** 2).sum(dims), n)))
                    m.bias.grad.add_(self.noise(_sum_sigma(m.bias.grad, (dy**2).sum(dims), n)))
                elif isinstance(m, nn.PReLU) and m.weight.grad is not None:
                    x = seen["x"]
                    dims = [0] + list(range(2, x.dim()))
                    squares = (dy * x.clamp(max=0)) ** 2
                    squares = squares.sum(dims) if m.weight.numel() > 1 else squares.sum().reshape(1)
                    n = dy.numel() // m.weight.numel()
                    m.weight.grad.add_(self.noise(_sum_sigma(m.weight.grad, squares, n)))
        for h in self.handles:
            h.remove()


def bounds(run, exact):
    """`run(seed)` evaluates the step in float64 under `Float32Noise(model, seed)` and returns
    its tensors by key; `exact` holds the noiseless ones. Returns `<key>.f32bound` per key."""
    squares = {key: 0.0 for key in exact}
    for seed in range(RUNS):
        noisy = run(seed)
        for key, ref in exact.items():
            squares[key] += float(((noisy[key] - ref).norm() / ref.norm().clamp_min(1e-300)) ** 2)
    return {key + ".f32bound": torch.tensor([4 * math.sqrt(s / RUNS) + 4 * U]) for key, s in squares.items()}


class _NormalizeNoise(torch.autograd.Function):
    """Row-wise x/‖x‖ whose forward and backward carry the model's float32 errors: the sum of
    squares (n terms), the square root and division, and backward's Σ y·dy."""

    @staticmethod
    def forward(ctx, x, noise):
        n = x.shape[1]
        squares = (x**2).sum(1, keepdim=True)
        d_squares = noise.noise(_sum_sigma(squares, (x**4).sum(1, keepdim=True), n))
        norm = (squares + d_squares).sqrt()
        y = x / norm
        y = y + noise.noise(U * math.sqrt(2 / 3.0) * y.abs())
        ctx.save_for_backward(y, norm)
        ctx.noise = noise
        return y

    @staticmethod
    def backward(ctx, dy):
        y, norm = ctx.saved_tensors
        n = y.shape[1]
        dot = (y * dy).sum(1, keepdim=True)
        dot = dot + ctx.noise.noise(_sum_sigma(dot, ((y * dy) ** 2).sum(1, keepdim=True), n))
        dx = (dy - y * dot) / norm
        return dx + ctx.noise.noise(U * math.sqrt(3 / 3.0) * (dy.abs() + (y * dot).abs()) / norm), None


def normalize(x, noise):
    """F.normalize(x, dim=1), with the float32 error model when `noise` is a Float32Noise."""
    return F.normalize(x, dim=1) if noise is None else _NormalizeNoise.apply(x, noise)
