"""Colour handling of restyling (search/restyle/colour.py): keeping the photo's chroma, and giving the
painting the photo's colour statistics."""

from __future__ import annotations

import numpy as np
import pytest
from style_support import FAST, painting, photo

from nounlens.search.restyle.colour import keep_chroma, match_colours, to_ycbcr
from nounlens.search.restyle.optimise import GatysConfig, load_rgb, transfer


def cbcr(a):
    return to_ycbcr(a.astype(np.float32) / 255.0)[..., 1:] * 255


@pytest.fixture(scope="module")
def restyled() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the photo, restyled plainly, restyled on luminance only), uint8."""
    p = (load_rgb(photo(), FAST["size"]) * 255 + 0.5).astype(np.uint8)
    plain = transfer(photo(), painting(), GatysConfig(**FAST), progress=False)["image"]
    kept = transfer(photo(), painting(), GatysConfig(colour="luminance", **FAST), progress=False)["image"]
    return p, plain, kept


def test_colour_preservation_keeps_the_photos_chroma(restyled):
    p, _, kept = restyled
    diff = np.abs(cbcr(kept) - cbcr(p))
    assert np.percentile(diff, 99) < 2.5 and diff.mean() < 0.6  # rounding and clipping only


def test_without_colour_preservation_the_colours_move(restyled):
    p, plain, kept = restyled
    assert np.abs(cbcr(plain) - cbcr(p)).mean() > 3 * np.abs(cbcr(kept) - cbcr(p)).mean()


def test_colour_preservation_still_restyles_the_luminance(restyled):
    p, _, kept = restyled
    assert np.abs(kept.astype(int) - p.astype(int)).mean() > 3


@pytest.fixture(scope="module")
def matched() -> tuple[np.ndarray, np.ndarray]:
    p, s = load_rgb(photo(), 96), load_rgb(painting(), 96)
    return p, match_colours(s, p)


def test_colour_matching_gives_the_painting_the_photos_mean_colour(matched):
    p, m = matched
    assert np.allclose(m.reshape(-1, 3).mean(0), p.reshape(-1, 3).mean(0), atol=0.02)


def test_colour_matching_gives_the_painting_the_photos_colour_covariance(matched):
    p, m = matched
    assert np.allclose(np.cov(m.reshape(-1, 3).T), np.cov(p.reshape(-1, 3).T), atol=0.004)


def test_keeping_a_photos_own_chroma_changes_nothing(matched):
    p, _ = matched
    assert np.allclose(keep_chroma(p, p), p, atol=1e-5)
