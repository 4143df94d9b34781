"""Gatys et al.'s pixel optimisation at query time (search/restyle/optimise.py) on real photos from
scikit-image, at small sizes: the loss goes down, the start images, masks, two paintings, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from style_support import FAST, skimage_photo
from style_support import painting as a_painting
from style_support import photo as a_photo

from nounlens.data.errors import NounlensError
from nounlens.models.style_losses import total_variation
from nounlens.search.restyle.optimise import GatysConfig, load_rgb, make_mask, transfer


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return a_photo()


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    return a_painting()


@pytest.fixture(scope="module")
def restyled(photo, painting) -> dict:
    return transfer(photo, painting, GatysConfig(**FAST), progress=False)


def test_the_optimisation_makes_the_loss_evaluations_asked_for(restyled):
    assert restyled["evaluations"] == FAST["steps"]


def test_a_few_steps_lower_the_total_loss_on_real_images(restyled):
    assert restyled["losses"]["total"] < 0.7 * restyled["start"]["total"]


def test_the_result_is_a_uint8_picture_at_the_size_asked_for(restyled):
    assert restyled["image"].shape == (43, 64, 3) and restyled["image"].dtype == np.uint8


@pytest.mark.parametrize("init", ["blur", "content", "noise"])
def test_start_images(photo, painting, init):
    r = transfer(photo, painting, GatysConfig(init=init, **{**FAST, "steps": 1}), progress=False)
    p = load_rgb(photo, FAST["size"])
    if init == "content":
        assert r["start"]["content"] < 1e-8
    else:  # noise is far from the photo; blurred noise is smooth (little total variation)
        assert r["start"]["content"] > 0.1
    if init == "blur":
        assert float(total_variation(torch.from_numpy(r["image"].transpose(2, 0, 1) / 255.0)[None])) < \
            float(total_variation(torch.from_numpy(p.transpose(2, 0, 1).copy())[None]))


@pytest.fixture(scope="module")
def left_only(photo, painting) -> tuple[np.ndarray, np.ndarray, int]:
    """(result with the mask "left", the photo, how far past the feathered edge to look)."""
    cfg = GatysConfig(**FAST)
    r = transfer(photo, painting, cfg, mask="left", progress=False)["image"].astype(int)
    p = (load_rgb(photo, cfg.size) * 255 + 0.5).astype(int)
    return r, p, int(0.1 * p.shape[1])


def test_masked_pixels_stay_the_photos(left_only):
    r, p, edge = left_only
    w = p.shape[1]
    assert np.abs(r[:, w // 2 + edge:] - p[:, w // 2 + edge:]).max() <= 1


def test_the_styled_side_of_a_mask_changes(left_only):
    r, p, edge = left_only
    w = p.shape[1]
    assert np.abs(r[:, :w // 2 - edge] - p[:, :w // 2 - edge]).mean() > 5


def test_the_left_mask_covers_the_left_half():
    m = make_mask("left", 43, 64)
    assert m[:, :20].min() > 0.99 and m[:, -20:].max() < 0.01


def test_two_paintings_in_two_regions_lower_their_style_losses_together(photo, painting):
    r = transfer(photo, painting, GatysConfig(**FAST), mask="left", style2=skimage_photo("hubble_deep_field"),
                 progress=False)
    assert r["losses"]["style"] < 0.8 * r["start"]["style"]


def test_two_paintings_need_a_mask(photo, painting):
    with pytest.raises(NounlensError, match="mask"):
        transfer(photo, painting, GatysConfig(**FAST), style2=painting, progress=False)


def test_an_unknown_start_is_a_one_line_error(photo, painting):
    with pytest.raises(NounlensError, match="--init"):
        transfer(photo, painting, GatysConfig(init="grey", **{k: v for k, v in FAST.items()}), progress=False)


def test_a_missing_photo_is_a_one_line_error(painting, tmp_path):
    with pytest.raises(NounlensError, match="no such image"):
        transfer(tmp_path / "missing.jpg", painting, GatysConfig(**FAST), progress=False)


def test_an_unreadable_painting_is_a_one_line_error(photo, tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(NounlensError, match="cannot use"):
        transfer(photo, tmp_path / "bad.jpg", GatysConfig(**FAST), progress=False)


def test_an_unknown_mask_is_a_one_line_error():
    with pytest.raises(NounlensError, match="--mask"):
        make_mask("diagonal", 10, 10)
