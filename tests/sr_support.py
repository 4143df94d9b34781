"""Shared by the super-resolution tests (tests/models/, tests/trainer/sr/, tests/search/, tests/data/):
real photos from ../shared/data, a random network that is not just bicubic, the shipped network, and
JPEG thumbnails."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from conftest import SHARED
from PIL import Image

from nounlens.models.sr import WEIGHTS, SRNet, load_weights

PHOTOS = sorted((SHARED / "imagenet-sample").glob("n0*.JPEG"))[::97]


def real_photos():
    if len(PHOTOS) < 4:
        pytest.skip(f"needs the shared data ({SHARED / 'imagenet-sample'})")
    return PHOTOS


def perturbed(net: SRNet, seed: int = 0) -> SRNet:
    """A random network whose output is not just bicubic (the head starts at zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return net.eval()


def shipped() -> SRNet:
    if not WEIGHTS.exists():
        pytest.fail(f"the shipped weights {WEIGHTS} are missing")
    return load_weights()[0]


def jpeg_thumb(seed: int = 0, size=(90, 72)) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)).resize(size)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()
