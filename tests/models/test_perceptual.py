"""The perceptual loss of super-resolution training (models/perceptual.py): zero for equal images,
positive otherwise, a frozen loss network, the unit-normalised distance and weights per tap."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nounlens.models.perceptual import FeatureLoss, unit_distance


@pytest.fixture(scope="module")
def loss() -> FeatureLoss:
    return FeatureLoss(feature_weight=1.0, pixel_weight=1.0)


def images(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random picture and its 3x3 blur."""
    a = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
    return a, nn.functional.avg_pool2d(a, 3, 1, 1)


def test_loss_zero_for_identical_images(loss):
    a, _ = images(1)
    same = loss.parts(a, a.clone())
    assert float(same["feature"]) == 0.0 and float(same["pixel"]) == 0.0


def test_loss_positive_for_a_blurred_image(loss):
    a, blurred = images(1)
    parts = loss.parts(blurred, a)
    assert float(parts["feature"]) > 0 and float(parts["pixel"]) > 0


def test_feature_loss_sees_a_one_pixel_shift(loss):
    a, _ = images(1)
    shifted = loss.parts(a.roll(1, dims=3), a)
    assert float(shifted["feature"]) > 0


def test_the_loss_network_is_frozen_and_stays_in_eval_mode():
    loss = FeatureLoss(feature_weight=1.0, pixel_weight=1.0)
    loss.train()
    assert not loss.features.training and not any(p.requires_grad for p in loss.features.parameters())


def test_unit_distance_by_hand():
    # unit vectors along channels, squared distance summed over channels, mean over the rest
    f, h = torch.tensor([[[[3.0]], [[4.0]]]]), torch.tensor([[[[0.0]], [[2.0]]]])
    assert float(unit_distance(f, h)) == pytest.approx((0.6 - 0) ** 2 + (0.8 - 1) ** 2, rel=1e-5)


def test_unit_feature_loss_zero_for_identical_images_and_positive_otherwise():
    a, blurred = images(2)
    unit = FeatureLoss(taps=(0, 2), unit=True)
    assert float(unit.parts(a, a.clone())["feature"]) == 0.0 and float(unit.parts(blurred, a)["feature"]) > 0


def test_tap_weights_scale_each_taps_share():
    a, blurred = images(2)
    tap0 = float(FeatureLoss(taps=(0,), unit=True).parts(blurred, a)["feature"])
    weighted = float(FeatureLoss(taps=(0, 2), unit=True, tap_weights=(3.0, 0.0)).parts(blurred, a)["feature"])
    assert weighted == pytest.approx(3 * tap0, rel=1e-5)


def test_tap_weights_must_match_the_taps():
    with pytest.raises(ValueError, match="tap weights"):
        FeatureLoss(taps=(0, 2), tap_weights=(1.0,))
