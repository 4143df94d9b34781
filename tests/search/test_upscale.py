"""Showing thumbnails x4 (search/upscale.py): the bicubic fallback when the network is missing, broken
or fails, warned once; and the cache of upscaled thumbnails."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sr_support import jpeg_thumb

from nounlens.models.sr import SRNet
from nounlens.search.upscale import SRFallbackWarning, Upscaler, bicubic, thumb_pixels

BROKEN = ["missing", "garbage", "wrong-shape"]


def fall_back(tmp_path, weights: str) -> tuple[Upscaler, np.ndarray]:
    """An Upscaler on broken weights, and its (warned) first picture."""
    path = tmp_path / "sr.pt"
    if weights == "garbage":
        path.write_bytes(b"not a torch file")
    elif weights == "wrong-shape":
        torch.save({"config": {"nf": 32, "n_res": 4, "nf_mid": 16, "nf_hi": 8},
                    "state_dict": SRNet(nf=8).state_dict()}, path)
    up = Upscaler(path)
    with pytest.warns(SRFallbackWarning, match="bicubic"):
        out = up.pixels([jpeg_thumb()])[0]
    return up, out


@pytest.mark.parametrize("weights", BROKEN)
def test_bicubic_fallback_with_a_warning(tmp_path, weights):
    up, out = fall_back(tmp_path, weights)
    assert up.method == "bicubic"
    assert np.array_equal(out, bicubic(thumb_pixels(jpeg_thumb())))


@pytest.mark.parametrize("weights", BROKEN)
def test_the_fallback_warns_once_not_once_per_thumbnail(tmp_path, weights):
    up, _ = fall_back(tmp_path, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert up.pixels([jpeg_thumb(1)])[0].shape == (288, 360, 3)


def test_fallback_when_the_network_fails(monkeypatch):
    import nounlens.models.sr as sr

    def broken(net, images):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(sr, "upscale", broken)
    up = Upscaler()
    with pytest.warns(SRFallbackWarning, match="out of memory"):
        out = up.pixels([jpeg_thumb()])
    assert out[0].shape == (288, 360, 3)


@pytest.fixture
def calls(monkeypatch) -> list[int]:
    """How many thumbnails each call of the network got."""
    import nounlens.models.sr as sr

    calls: list[int] = []
    real = sr.upscale
    monkeypatch.setattr(sr, "upscale", lambda net, images: calls.append(len(images)) or real(net, images))
    return calls


A, B = jpeg_thumb(0), jpeg_thumb(1, (72, 72))


def test_a_thumbnail_repeated_in_a_page_is_upscaled_once(calls):
    up = Upscaler()
    up.pixels([A, B, A])
    assert calls == [2] and up.method == "sr"


def test_upscaled_thumbnails_are_cached(calls):
    up = Upscaler()
    first = up.pixels([A, B, A])
    again = up.pixels([B, A])
    assert calls == [2]  # nothing recomputed
    assert again[1] is first[0] and again[0].shape == (288, 288, 3)
