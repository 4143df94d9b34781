"""The one-pass stylizer network (models/stylizer.py) and the shipped weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from style_support import photo

from nounlens.models.stylizer import SHIPPED, TransformNet, load_weights, one_pass
from nounlens.search.restyle.optimise import load_rgb


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 37, 50)])
def test_transform_network_keeps_the_input_size(shape):
    net = TransformNet((8, 16, 16), 1).eval()
    with torch.inference_mode():
        y = net(torch.rand(shape))
    assert y.shape == shape and y.min() >= 0 and y.max() <= 1


def test_shipped_stylizer_is_small_and_says_how_it_was_trained():
    path = SHIPPED["irises"]
    assert path.is_file() and path.stat().st_size < 5 * 2**20
    _, trained = load_weights("irises")
    assert trained["steps"] > 0 and trained["painting"]["name"] == "irises"
    assert all("styles" not in d for d in trained["data"])  # never the content photos


def test_shipped_stylizer_restyles_a_photo_of_any_size():
    net, _ = load_weights("irises")
    small = (load_rgb(photo(), 130) * 255).astype(np.uint8)  # odd sizes come back unchanged
    out = one_pass(net, small)
    assert out.shape == small.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - small.astype(int)).mean() > 10
