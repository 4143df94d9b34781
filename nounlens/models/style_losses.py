"""Style and content losses on the frozen EfficientNet-Lite (Gatys, Ecker & Bethge 2016).

Taps: "px" is the pixels themselves (their Gram matrix holds the colours' means and covariances,
which the network's normalised features keep only loosely; without it results came out in pale
rainbow noise), "b4" is block 4's output (a linear bottleneck: signed, thin), "a4" is the activation
inside block 4 after its depthwise conv (ReLU6: non-negative and 4-6x wider, the closest thing this
network has to VGG's relu layers). Blocks 0, 2, 4, 7 and 10 end the stride-2, 4, 8 and 16 stages
(0: stride 2; 1-2: 4; 3-4: 8; 5-10: 16).

Both losses are relative (divided by the target's own squared norm), so every layer starts on the
same scale whatever its width, and the per-layer style weights (the course's tweak) say what each
layer is worth rather than making up for its size. Wang et al. (CVPR 2021) trace the poor style
transfer of non-VGG networks to peaky, low-entropy activations and fix it with a softmax over each
feature map; `softmax=T` applies it (temperature T) before the Gram matrix and the content loss.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.nn import functional as F

from nounlens.models.perceptual import LOSS_NET, EarlyBlocks

EPS = 1e-8


def parse_tap(tap: str) -> tuple[str, int]:
    if tap == "px":
        return "px", -1
    m = re.fullmatch(r"([ab])(\d+)", tap)
    if not m:
        raise ValueError(f"tap {tap!r}: write px (the pixels), b<block> (block output) or a<block> (inner activation)")
    return m.group(1), int(m.group(2))


class Taps(nn.Module):
    """The frozen stem and blocks up to the deepest tap; returns {tap name: features}."""

    def __init__(self, taps: tuple[str, ...], name: str = LOSS_NET):
        super().__init__()
        parsed = [parse_tap(t) for t in taps]
        self.taps = tuple(dict.fromkeys(taps))
        self.early = EarlyBlocks(name, (max(0, max(i for _, i in parsed)),))
        self._inner = {i: f"a{i}" for kind, i in parsed if kind == "a"}
        self._grabbed: dict[str, torch.Tensor] = {}
        for i in self._inner:  # the depthwise conv's BatchNorm, then the block's own ReLU6
            self.early.blocks[i]._bn1.register_forward_hook(
                lambda _m, _inp, out, i=i: self._grabbed.__setitem__(f"a{i}", F.relu6(out)))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self._grabbed = {}
        h = x * (255.0 / 128.0) - 127.0 / 128.0  # the backbone's input scaling: about [-1, 1]
        if "px" in self.taps:  # centred pixels and a constant: their Gram holds the colour covariance and the
            out = {"px": torch.cat([h, torch.ones_like(h[:, :1])], 1)}  # mean (an uncentred Gram is mostly
        else:  # brightness, and came out pale; a centred one alone has no gradient at mid-grey)
            out = {}
        h = self.early.stem(h)
        for i, block in enumerate(self.early.blocks):
            h = block(h)
            if f"b{i}" in self.taps:
                out[f"b{i}"] = h
        out.update(self._grabbed)
        self._grabbed = {}
        return {t: out[t] for t in self.taps}


def smooth(f: torch.Tensor, temperature: float | None) -> torch.Tensor:
    """Wang et al.'s softmax transformation over each image's whole feature map (all channels and
    positions), rescaled by the number of elements so that values average 1 at any image size."""
    if not temperature:
        return f
    n = f[0].numel()
    return F.softmax(f.flatten(1) / temperature, dim=1).view_as(f) * n


@torch.autocast("cpu", enabled=False)
def gram(f: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): channel correlations averaged over positions; with a mask
    (N or 1, 1, H, W) in [0, 1], a weighted average over the masked positions only."""
    f = f.float()  # in float32 even under bfloat16 autocast: sums over thousands of positions
    n, c, h, w = f.shape
    if mask is None:
        flat = f.reshape(n, c, h * w)
        return flat @ flat.transpose(1, 2) / (h * w)
    m = F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False) if mask.shape[-2:] != (h, w) else mask
    m = m.expand(n, 1, h, w).reshape(n, 1, h * w)
    flat = f.reshape(n, c, h * w)
    return (flat * m) @ flat.transpose(1, 2) / m.sum(dim=2, keepdim=True).clamp_min(EPS)


@torch.autocast("cpu", enabled=False)
def relative(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """||a - b||^2 / ||b||^2 per item of the batch (b is the target)."""
    a, b = a.float(), b.float()
    dims = tuple(range(1, a.dim()))
    return ((a - b) ** 2).sum(dims) / (b ** 2).sum(dims).clamp_min(EPS)


class StyleLoss(nn.Module):
    """Weighted relative Gram distances on `style_taps` plus a relative feature distance on `content_tap`.

    The choices live with their callers (search.restyle.settings has the shipped ones).
    `targets()` computes the painting's Gram matrices (optionally over a mask) and the photo's features
    once; `forward()` then scores a batch of images against them."""

    def __init__(self, style_taps: tuple[str, ...], style_weights: tuple[float, ...], content_tap: str,
                 softmax: float | None = None, name: str = LOSS_NET):
        super().__init__()
        if len(style_taps) != len(style_weights):
            raise ValueError("give one style weight per style tap")
        self.style_taps, self.content_tap = tuple(style_taps), content_tap
        total = sum(style_weights)
        self.style_weights = tuple(w / total for w in style_weights)
        self.softmax = softmax
        self.net = Taps(self.style_taps + (content_tap,), name)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v if k == "px" else smooth(v, self.softmax) for k, v in self.net(x).items()}

    @torch.no_grad()
    def style_targets(self, style: torch.Tensor, mask: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Gram matrices of a painting (1, 3, H, W), over `mask` of it where given."""
        f = self.features(style)
        return [gram(f[t], mask) for t in self.style_taps]

    @torch.no_grad()
    def content_target(self, photo: torch.Tensor) -> torch.Tensor:
        return self.features(photo)[self.content_tap]

    def parts(self, x: torch.Tensor, content: torch.Tensor | None,
              styles: list[tuple[list[torch.Tensor], torch.Tensor | None]]) -> dict[str, torch.Tensor]:
        """Per-item losses of images x: "content" against the photo's features, "style" summed over
        (Gram targets, mask of x they apply to) pairs, and "layers" (one style figure per tap)."""
        f = self.features(x)
        layers = torch.zeros(len(self.style_taps), x.shape[0], device=x.device)
        for targets, mask in styles:
            for k, (tap, target) in enumerate(zip(self.style_taps, targets, strict=True)):
                layers[k] = layers[k] + relative(gram(f[tap], mask), target.expand(x.shape[0], -1, -1))
        weights = torch.tensor(self.style_weights, device=x.device)[:, None]
        out = {"style": (weights * layers).sum(0), "layers": layers}
        out["content"] = (relative(f[self.content_tap], content) if content is not None
                          else torch.zeros_like(out["style"]))
        return out


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels, per item."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3)) + (x[..., 1:] - x[..., :-1]).abs().mean((1, 2, 3))
