"""The FFC engine's backbones in PyTorch, with the engine's module names, for the parity
fixtures (engine_reference.py) and the side-by-side benchmark (engine_bench.py).

Differences from a plain NCHW PyTorch model, both deliberate so weights map one to one:
- `flatten` flattens in (h, w, c) order, as the engine's NHWC Flatten does, so the FC after
  it has the same column order in both;
- layouts of stored weights are converted by `to_engine` / `from_engine` (conv OIHW ↔ OHWI,
  depthwise (C,1,KH,KW) ↔ (KH,KW,C)).
"""
import math

import torch
from torch import nn


def flatten_hwc(x):
    return x.permute(0, 2, 3, 1).flatten(1)


class ConvBlock(nn.Module):
    def __init__(self, conv, channels):
        super().__init__()
        self.conv, self.bn, self.prelu = conv, nn.BatchNorm2d(channels), nn.PReLU(channels)

    def forward(self, x):
        return self.prelu(self.bn(self.conv(x)))


class LinearBlock(nn.Module):
    def __init__(self, conv, channels):
        super().__init__()
        self.conv, self.bn = conv, nn.BatchNorm2d(channels)

    def forward(self, x):
        return self.bn(self.conv(x))


def conv(i, o, k, s=1, p=0):
    return nn.Conv2d(i, o, k, s, p, bias=False)


def depthwise(c, k, s=1, p=0):
    return nn.Conv2d(c, c, k, s, p, groups=c, bias=False)


class Bottleneck(nn.Module):
    def __init__(self, i, o, expanded, stride, residual):
        super().__init__()
        self.residual = residual
        self.conv = ConvBlock(conv(i, expanded, 1), expanded)
        self.conv_dw = ConvBlock(depthwise(expanded, 3, stride, 1), expanded)
        self.project = LinearBlock(conv(expanded, o, 1), o)

    def forward(self, x):
        y = self.project(self.conv_dw(self.conv(x)))
        return x + y if self.residual else y


class MobileFaceNet(nn.Module):
    def __init__(self, embedding=512, input_size=112):
        super().__init__()
        stage = lambda c, e, n: nn.Sequential(*[Bottleneck(c, c, e, 1, True) for _ in range(n)])
        self.conv1 = ConvBlock(conv(3, 64, 3, 2, 1), 64)
        self.conv2_dw = ConvBlock(depthwise(64, 3, 1, 1), 64)
        self.conv_23 = Bottleneck(64, 64, 128, 2, False)
        self.conv_3 = stage(64, 128, 4)
        self.conv_34 = Bottleneck(64, 128, 256, 2, False)
        self.conv_4 = stage(128, 256, 6)
        self.conv_45 = Bottleneck(128, 128, 512, 2, False)
        self.conv_5 = stage(128, 256, 2)
        self.conv_6_sep = ConvBlock(conv(128, 512, 1), 512)
        self.conv_6_dw = LinearBlock(depthwise(512, input_size // 16), 512)
        self.linear = nn.Linear(512, embedding, bias=False)
        self.features = nn.BatchNorm1d(embedding)

    def forward(self, x):
        for m in [self.conv1, self.conv2_dw, self.conv_23, self.conv_3, self.conv_34, self.conv_4,
                  self.conv_45, self.conv_5, self.conv_6_sep, self.conv_6_dw]:
            x = m(x)
        return self.features(self.linear(flatten_hwc(x)))


class IBasicBlock(nn.Module):
    def __init__(self, i, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(i)
        self.conv1 = conv(i, planes, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.prelu = nn.PReLU(planes)
        self.conv2 = conv(planes, planes, 3, stride, 1)
        self.bn3 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or i != planes:
            self.downsample = nn.Sequential(conv(i, planes, 1, stride), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return y + (self.downsample(x) if self.downsample is not None else x)


class IResNet(nn.Module):
    def __init__(self, blocks, embedding=512, input_size=112):
        super().__init__()
        self.conv1 = conv(3, 64, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(64)
        self.prelu = nn.PReLU(64)
        i = 64
        for index, (planes, n) in enumerate(zip([64, 128, 256, 512], blocks)):
            layers = [IBasicBlock(i if b == 0 else planes, planes, 2 if b == 0 else 1) for b in range(n)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*layers))
            i = planes
        self.bn2 = nn.BatchNorm2d(512)
        self.dropout = nn.Dropout(0.0)
        side = input_size // 16
        self.fc = nn.Linear(512 * side * side, embedding)
        self.features = nn.BatchNorm1d(embedding)

    def forward(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.features(self.fc(self.dropout(flatten_hwc(self.bn2(x)))))


class Bottleneck50(nn.Module):
    """torchvision's ResNet-50 bottleneck (stride on the 3×3), as the original FFC's r50."""

    def __init__(self, i, planes, stride):
        super().__init__()
        o = 4 * planes
        self.conv1, self.bn1 = conv(i, planes, 1), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3, stride, 1), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = conv(planes, o, 1), nn.BatchNorm2d(o)
        self.downsample = None
        if stride != 1 or i != o:
            self.downsample = nn.Sequential(conv(i, o, 1, stride), nn.BatchNorm2d(o))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet50(nn.Module):
    """r50: 7×7/2 stem, 3×3/2 max-pool, bottleneck stages [3, 4, 6, 3], flatten → FC → BN1d."""

    def __init__(self, embedding=512, input_size=224):
        super().__init__()
        self.conv1, self.bn1 = conv(3, 64, 7, 2, 3), nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        i = 64
        for index, (planes, n) in enumerate(zip([64, 128, 256, 512], [3, 4, 6, 3])):
            stride = 1 if index == 0 else 2
            layers = [Bottleneck50(i if b == 0 else 4 * planes, planes, stride if b == 0 else 1) for b in range(n)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*layers))
            i = 4 * planes
        side = input_size // 32
        self.fc = nn.Linear(2048 * side * side, embedding)
        self.features = nn.BatchNorm1d(embedding)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.features(self.fc(flatten_hwc(x)))


BLOCKS = {"ir18": [2, 2, 2, 2], "ir34": [3, 4, 6, 3], "ir50": [3, 4, 14, 3], "ir100": [3, 13, 30, 3]}


def make(name, embedding=512, input_size=112):
    if name == "mobilefacenet":
        return MobileFaceNet(embedding, input_size)
    if name == "r50":
        return ResNet50(embedding, input_size)
    return IResNet(BLOCKS[name], embedding, input_size)


def parameter_roles(model):
    """name → (module, role, fan_in) with the engine's role names."""
    roles = {}
    for mname, m in model.named_modules():
        prefix = mname + "." if mname else ""
        if isinstance(m, nn.Conv2d):
            roles[prefix + "weight"] = (m, "weight", m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.Linear):
            roles[prefix + "weight"] = (m, "weight", m.in_features)
            if m.bias is not None:
                roles[prefix + "bias"] = (m, "bias", m.in_features)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            roles[prefix + "weight"] = (m, "normScale", 0)
            roles[prefix + "bias"] = (m, "normShift", 0)
        elif isinstance(m, nn.PReLU):
            roles[prefix + "weight"] = (m, "preluSlope", 0)
    return roles


def to_engine(module, t):
    """A PyTorch parameter (or gradient) in the engine's layout."""
    if isinstance(module, nn.Conv2d) and t.dim() == 4:
        if module.groups > 1:
            return t[:, 0].permute(1, 2, 0).contiguous()
        return t.permute(0, 2, 3, 1).contiguous()
    return t


def from_engine(module, t):
    if isinstance(module, nn.Conv2d):
        if module.groups > 1:
            return t.permute(2, 0, 1).unsqueeze(1).contiguous()
        return t.permute(0, 3, 1, 2).contiguous()
    return t


def engine_shape(module, shape):
    return list(to_engine(module, torch.empty(shape)).shape)


def formula_value(role, fan_in, k, count, chirp=False):
    """The deterministic weights both sides compute: element i of the k-th parameter in
    name order, in the engine's flat layout. sin(0.37·i + 1.3·k) makes every weight matrix
    rank 2 (row o is a phase shift of one sinusoid); behind PReLUs that is harmless, but
    ResNet-50's ReLUs and BatchNorms then amplify rounding tenfold per stage (PyTorch's own
    float32 embedding off by 30 %), so r50 adds the chirp 1e-4·i², which makes them full rank
    (float32 error 2e-4)."""
    i = torch.arange(count, dtype=torch.float64)
    s = torch.sin(0.37 * i + 1.3 * k + ((1e-4 * i) * i if chirp else 0))
    if role == "weight":
        return s * math.sqrt(3.0 / fan_in)
    if role == "bias":
        return 0.1 * s
    if role == "normScale":
        return 1.0 + 0.1 * s
    if role == "normShift":
        return 0.1 * s
    return 0.25 + 0.05 * s


def load_formula_weights(model, chirp=False):
    roles = parameter_roles(model)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for k, name in enumerate(sorted(params)):
            module, role, fan_in = roles[name]
            shape = engine_shape(module, params[name].shape)
            values = formula_value(role, fan_in, k, params[name].numel(), chirp).float().reshape(shape)
            params[name].copy_(from_engine(module, values))
