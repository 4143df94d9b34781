"""Perceptual losses on a frozen EfficientNet-Lite: feature reconstruction (Johnson et al. 2016)
plus a pixel loss. The style-transfer network reuses `EarlyBlocks` and `FeatureLoss`.

Johnson et al. compare VGG-16 relu2_2 activations. No VGG weights ship offline, so the loss network
is the backbone nounlens already has: EfficientNet-Lite0's stem and first MBConv blocks. Block 0
(stride 2, 16 channels) plays the part of relu1_2 and block 2 (stride 4, 24 channels) of relu2_2;
their outputs are linear bottlenecks (no ReLU), so features can be negative and are thinner than
VGG's (24 vs 128 channels), which makes the loss lighter and a little less texture-sensitive.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from nounlens.models.backbone import torch_model

LOSS_NET = "efficientnet-lite0"
LOSS_BLOCKS = (0, 2)


class EarlyBlocks(nn.Module):
    """The stem and first blocks of a frozen EfficientNet-Lite; returns the outputs of `taps`.
    Takes images in [0, 1] and applies the backbone's own input scaling, (255x - 127) / 128."""

    def __init__(self, name: str = LOSS_NET, taps: tuple[int, ...] = LOSS_BLOCKS):
        super().__init__()
        net = torch_model(name).net
        self.taps = tuple(taps)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(net._blocks[: max(self.taps) + 1])
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> EarlyBlocks:
        return super().train(False)  # frozen: BatchNorm keeps the backbone's statistics

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x * (255.0 / 128.0) - 127.0 / 128.0)
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                out.append(x)
        return out


def unit_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """LPIPS without learned weights: features unit-normalised along channels, squared differences
    summed over channels and averaged over positions (and the batch). Every channel direction counts,
    however weak the activation, so blur and lost texture cost as much as a wrong colour."""
    a = a / (a.norm(dim=1, keepdim=True) + 1e-10)
    b = b / (b.norm(dim=1, keepdim=True) + 1e-10)
    return ((a - b) ** 2).sum(dim=1).mean()


class FeatureLoss(nn.Module):
    """feature_weight * feature difference (summed over taps) + pixel_weight * L1. The feature
    difference is Johnson et al.'s mean squared error, or with `unit` the channel-normalised
    `unit_distance` that nounlens's perceptual metric uses (on another network).

    Both terms are means, so they do not change with image size. Zero only when the two images
    give the same features and pixels."""

    def __init__(self, feature_weight: float = 1.0, pixel_weight: float = 1.0, name: str = LOSS_NET,
                 taps: tuple[int, ...] = LOSS_BLOCKS, unit: bool = False, tap_weights: tuple[float, ...] | None = None):
        super().__init__()
        self.features = EarlyBlocks(name, taps)
        self.tap_weights = tuple(tap_weights) if tap_weights else (1.0,) * len(taps)
        if len(self.tap_weights) != len(taps):
            raise ValueError(f"{len(self.tap_weights)} tap weights for {len(taps)} taps")
        self.feature_weight = feature_weight
        self.pixel_weight = pixel_weight
        self.distance = unit_distance if unit else F.mse_loss

    def parts(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            want = self.features(target)
        got = self.features(pred)
        feature = sum(t * self.distance(g, w) for t, g, w in zip(self.tap_weights, got, want, strict=True))
        return {"feature": feature, "pixel": F.l1_loss(pred, target)}

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = self.parts(pred, target)
        return self.feature_weight * p["feature"] + self.pixel_weight * p["pixel"]
