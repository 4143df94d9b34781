"""Small convolutional blocks shared by the super-resolution and restyling networks
(Johnson, Alahi & Fei-Fei 2016): reflection padding, conv-norm-ReLU, residual blocks and
x2 upsampling that cannot make checkerboard artefacts (Odena, Dumoulin & Olah 2016)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

NORMS = {"batch": nn.BatchNorm2d, "instance": lambda c: nn.InstanceNorm2d(c, affine=True), None: None}


def conv_layer(ni: int, nf: int, ks: int = 3, stride: int = 1, norm: str | None = "batch",
               act: bool = True) -> nn.Sequential:
    """Reflection pad, conv, optional norm, optional ReLU. Reflection (not zero) padding keeps a flat
    image flat up to its borders, so the network does not learn to draw frames."""
    layers: list[nn.Module] = [nn.ReflectionPad2d(ks // 2), nn.Conv2d(ni, nf, ks, stride, bias=norm is None)]
    if norm is not None:
        layers.append(NORMS[norm](nf))
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """conv-norm-ReLU, conv-norm (no activation after the second), added to the input."""

    def __init__(self, nf: int, norm: str | None = "batch"):
        super().__init__()
        self.body = nn.Sequential(conv_layer(nf, nf, norm=norm), conv_layer(nf, nf, norm=norm, act=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """x2 by nearest-neighbour resize then a conv: every output pixel gets the same number of kernel
    taps, so unlike a strided transposed conv it has no built-in 2-pixel (checkerboard) pattern."""

    def __init__(self, ni: int, nf: int, norm: str | None = "batch"):
        super().__init__()
        self.conv = conv_layer(ni, nf, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def res_blocks(n: int, nf: int, norm: str | None = "batch") -> nn.Sequential:
    return nn.Sequential(*[ResBlock(nf, norm) for _ in range(n)])


def load_into_wider(net: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Load a narrower network's weights (same layers, fewer channels) into the leading channels of
    `net` so that it computes exactly what the narrower one did (Net2Net-style widening): each extra
    channel keeps its fresh incoming weights, but every weight reading from it starts at zero, and
    extra BatchNorm channels start at identity statistics. Lets a trained net grow and fine-tune."""
    own = net.state_dict()
    if own.keys() != state.keys():
        raise ValueError("the two networks have different layers")
    with torch.no_grad():
        for name, old in state.items():
            new = own[name]
            if any(o > n for o, n in zip(old.shape, new.shape, strict=True)):
                raise ValueError(f"{name}: {tuple(old.shape)} does not fit in {tuple(new.shape)}")
            if new.dim() == 4:  # conv weight (out, in, kh, kw): nothing reads the extra inputs yet
                new[:, old.shape[1]:] = 0
            new[tuple(slice(0, s) for s in old.shape)] = old
    net.load_state_dict(own)
    return net
