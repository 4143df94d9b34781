"""x4 super-resolution of catalogue thumbnails (Johnson, Alahi & Fei-Fei 2016), from shared blocks.

9x9 stem at thumbnail resolution, residual blocks there (cheap), two checkerboard-free x2 steps, a
9x9 conv to RGB. The output is bounded by a sigmoid around the bicubic upscale (in logit space), so
the network only learns what bicubic misses and can never leave [0, 1].
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nounlens.data.paths import WEIGHTS as PACKAGE_WEIGHTS
from nounlens.models.blocks import UpsampleConv, conv_layer, res_blocks
from nounlens.models.weights import load_net, save_net

SCALE = 4
EPS = 1e-3


class SRNet(nn.Module):
    def __init__(self, nf: int = 32, n_res: int = 4, nf_mid: int = 16, nf_hi: int = 8):
        super().__init__()
        self.config = {"nf": nf, "n_res": n_res, "nf_mid": nf_mid, "nf_hi": nf_hi}
        self.stem = conv_layer(3, nf, 9)
        self.body = res_blocks(n_res, nf)
        self.up = nn.Sequential(UpsampleConv(nf, nf_mid), UpsampleConv(nf_mid, nf_hi))
        self.head = conv_layer(nf_hi, 3, 9, norm=None, act=False)
        nn.init.zeros_(self.head[1].weight)  # start as exactly bicubic
        nn.init.zeros_(self.head[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, h, w) in [0, 1] -> (N, 3, 4h, 4w) in (0, 1)."""
        base = F.interpolate(x, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(EPS, 1 - EPS)
        residual = self.head(self.up(self.body(self.stem(x - 0.5))))
        return torch.sigmoid(torch.logit(base) + residual)


WEIGHTS = PACKAGE_WEIGHTS / "sr-x4.pt"


def save_weights(net: SRNet, path: str | Path, trained: dict) -> None:
    save_net(net, path, trained)


def load_weights(path: str | Path | None = None) -> tuple[SRNet, dict]:
    """(network in eval mode, how it was trained). Raises NounlensError when absent or unreadable."""
    net, trained = load_net(Path(path) if path else WEIGHTS, lambda config: SRNet(**config),
                            "super-resolution weights", "train them with `nounlens train sr`")
    return net.to(memory_format=torch.channels_last), trained


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU does bfloat16 convolutions natively (AVX-512 BF16 / AMX); elsewhere they are emulated
    and slower than float32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def upscale(net: SRNet, images: list[np.ndarray], bf16: bool | None = None) -> list[np.ndarray]:
    """uint8 (h, w, 3) thumbnails -> uint8 (4h, 4w, 3); same-sized ones go through in one batch. The
    convolutions run in bfloat16 where the CPU has it natively (`bf16=None`), about 1.7x faster; the bicubic
    base and the output sigmoid stay float32, so outputs move by about a grey level at most."""
    bf16 = native_bf16() if bf16 is None else bf16
    out: list[np.ndarray | None] = [None] * len(images)
    groups: dict[tuple, list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.shape, []).append(i)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for idx in groups.values():
            x = torch.from_numpy(np.stack([images[i] for i in idx])).permute(0, 3, 1, 2).float().div_(255.0)
            y = net(x.contiguous(memory_format=torch.channels_last)).float()
            y = y.mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
            for k, i in enumerate(idx):
                out[i] = np.ascontiguousarray(y[k])
    return out
