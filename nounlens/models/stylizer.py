"""A per-painting feed-forward stylizer (Johnson, Alahi & Fei-Fei 2016), from the shared blocks.

9x9 conv, two stride-2 convs down, residual blocks at quarter resolution, two checkerboard-free x2
steps up (nearest resize then conv), 9x9 conv to RGB. Instance norm (Ulyanov et al. 2016) instead of
batch norm: each photo is normalised by its own statistics, which is what makes one pass stylise any
photo alike. Reflection padding everywhere, so borders get no frame. Any input size whose sides are
multiples of 4 comes back at that size; other sizes are padded by reflection and cropped back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nounlens.data.paths import WEIGHTS
from nounlens.models.blocks import UpsampleConv, conv_layer, res_blocks
from nounlens.models.weights import load_net, save_net

SHIPPED = {"irises": WEIGHTS / "style-irises.pt"}


class TransformNet(nn.Module):
    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), n_res: int = 5):
        super().__init__()
        a, b, c = widths
        self.config = {"widths": [a, b, c], "n_res": n_res}
        self.down = nn.Sequential(conv_layer(3, a, 9, norm="instance"), conv_layer(a, b, 3, 2, norm="instance"),
                                  conv_layer(b, c, 3, 2, norm="instance"))
        self.body = res_blocks(n_res, c, norm="instance")
        self.up = nn.Sequential(UpsampleConv(c, b, norm="instance"), UpsampleConv(b, a, norm="instance"))
        self.head = conv_layer(a, 3, 9, norm=None, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, h, w) in [0, 1] -> (N, 3, h, w) in (0, 1)."""
        h, w = x.shape[-2:]
        ph, pw = -h % 4, -w % 4
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        y = torch.sigmoid(self.head(self.up(self.body(self.down(x - 0.5)))))
        return y[..., :h, :w]


def save_weights(net: TransformNet, path: str | Path, trained: dict) -> None:
    save_net(net, path, trained, half=True)


def resolve(model: str | Path | None) -> Path:
    """A shipped stylizer's name ("irises") or a weights file."""
    if model is None:
        model = "irises"
    if str(model) in SHIPPED:
        return SHIPPED[str(model)]
    return Path(model).expanduser()


def load_weights(model: str | Path | None = None) -> tuple[TransformNet, dict]:
    """(network in eval mode, float32, how it was trained). NounlensError when absent or unreadable."""
    return load_net(resolve(model), lambda config: TransformNet(tuple(config["widths"]), config["n_res"]),
                    "stylizer", f"train one with `nounlens train style` (shipped: {', '.join(SHIPPED)})")


def one_pass(net: TransformNet, image: np.ndarray) -> np.ndarray:
    """uint8 (h, w, 3) -> uint8 (h, w, 3), one forward pass."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div_(255.0)
    with torch.inference_mode():
        y = net(x)
        return y[0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
