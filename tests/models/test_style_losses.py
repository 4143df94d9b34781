"""The restyling losses (models/style_losses.py): the Gram matrix by hand, content and style losses,
the frozen loss network, total variation, and style targets per masked region."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from style_support import painting, photo, skimage_photo

from nounlens.models.style_losses import StyleLoss, gram, total_variation
from nounlens.search.restyle.optimise import load_rgb
from nounlens.search.restyle.settings import CONTENT_TAP, STYLE_TAPS, STYLE_WEIGHTS

# two channels over a 1 x 2 image: channel 0 = (1, 2), channel 1 = (3, 4)
F = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])


def test_gram_matrix_by_hand():
    want = torch.tensor([[1 * 1 + 2 * 2, 1 * 3 + 2 * 4], [3 * 1 + 4 * 2, 3 * 3 + 4 * 4]]) / 2
    assert torch.allclose(gram(F)[0], want)


def test_a_mask_keeps_its_positions_in_the_gram_matrix():
    only_first = gram(F, torch.tensor([[[[1.0, 0.0]]]]))[0]  # the mask keeps the first position only
    assert torch.allclose(only_first, torch.tensor([[1.0, 3.0], [3.0, 9.0]]))


@pytest.fixture(scope="module")
def loss() -> StyleLoss:
    return StyleLoss(STYLE_TAPS, STYLE_WEIGHTS, CONTENT_TAP)


@pytest.fixture(scope="module")
def pictures() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(load_rgb(photo(), 96).transpose(2, 0, 1).copy())[None]
    y = torch.from_numpy(load_rgb(painting(), area=x.shape[2] * x.shape[3]).transpose(2, 0, 1).copy())[None]
    return x, y


def test_style_and_content_loss_zero_for_identical_images(loss, pictures):
    x, _ = pictures
    same = loss.parts(x, loss.content_target(x), [(loss.style_targets(x), None)])
    assert float(same["style"]) < 1e-10 and float(same["content"]) < 1e-10


def test_a_different_picture_has_a_different_style_on_every_layer(loss, pictures):
    x, y = pictures
    other = loss.parts(x, loss.content_target(x), [(loss.style_targets(y), None)])
    assert float(other["style"]) > 1e-3
    assert (other["layers"] > 0).all()


def test_loss_network_is_frozen():
    loss = StyleLoss(STYLE_TAPS, STYLE_WEIGHTS, CONTENT_TAP)
    loss.train()
    assert not any(p.requires_grad for p in loss.parameters())
    assert not loss.net.early.training


def test_total_variation_sees_noise():
    flat, noisy = torch.full((1, 3, 16, 16), 0.5), torch.rand(1, 3, 16, 16)
    assert float(total_variation(flat)) == 0 and float(total_variation(noisy)) > 0.1


def test_each_painting_is_matched_in_its_own_region(loss):
    """A picture that is painting A on the left and B on the right matches "A left, B right" far better
    than the swapped assignment."""
    a = load_rgb(painting(), 128)[:64, :64]
    b = load_rgb(skimage_photo("hubble_deep_field"), 128)[:64, :64]

    def t(img):
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]

    x, left = t(np.concatenate([a, b], axis=1)), torch.zeros(1, 1, 64, 128)
    left[..., :64] = 1
    ta, tb = loss.style_targets(t(a)), loss.style_targets(t(b))
    right_way = float(loss.parts(x, None, [(ta, left), (tb, 1 - left)])["style"])
    swapped = float(loss.parts(x, None, [(tb, left), (ta, 1 - left)])["style"])
    assert right_way < 0.25 * swapped  # not 0: deep features see across the border
