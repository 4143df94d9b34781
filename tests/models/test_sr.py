"""The x4 thumbnail super-resolution network (models/sr.py): shapes and range, the bicubic start, the
shipped weights, bfloat16, and widening a trained network."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from sr_support import perturbed, real_photos, shipped
from torch import nn

from nounlens.data.images import decode
from nounlens.models.blocks import load_into_wider
from nounlens.models.sr import WEIGHTS, SRNet, load_weights, upscale


def test_output_is_four_times_the_input_and_in_range():
    net = perturbed(SRNet(nf=8, n_res=1, nf_mid=8, nf_hi=4))
    x = torch.rand(2, 3, 18, 26)
    with torch.inference_mode():
        y = net(x)
    assert y.shape == (2, 3, 72, 104)
    assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_saturated_stripes_stay_in_range():
    net = perturbed(SRNet(nf=8, n_res=1, nf_mid=8, nf_hi=4))
    extreme = torch.zeros(1, 3, 12, 12)
    extreme[..., ::2, :] = 1.0  # saturated stripes must stay inside [0, 1] too
    with torch.inference_mode():
        z = net(extreme)
    assert z.min() >= 0 and z.max() <= 1


def test_untrained_network_is_bicubic():
    """The head starts at zero, so training begins from the bicubic upscale."""
    x = torch.rand(1, 3, 10, 12)
    with torch.inference_mode():
        y = SRNet().eval()(x)
    ref = nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).clamp(1e-3, 1 - 1e-3)
    assert torch.allclose(y, ref, atol=1e-5)


def test_shipped_weights_are_small_and_say_how_they_were_trained():
    assert WEIGHTS.stat().st_size < 5 * 2**20
    _, trained = load_weights()
    assert trained.get("steps", 0) > 0 and trained.get("data")


THUMBS = [np.random.default_rng(0).integers(0, 256, (72, 90, 3), dtype=np.uint8),
          np.full((72, 72, 3), 128, np.uint8), np.full((72, 90, 3), 7, np.uint8)]


def test_upscale_takes_and_gives_uint8_images():
    out = upscale(load_weights()[0], THUMBS)
    assert [o.shape for o in out] == [(288, 360, 3), (288, 288, 3), (288, 360, 3)]
    assert all(o.dtype == np.uint8 for o in out)


def test_a_flat_grey_stays_that_grey():
    out = upscale(load_weights()[0], THUMBS)
    assert np.abs(out[1].astype(int) - 128).max() <= 1


@pytest.mark.shared
def test_bfloat16_convolutions_move_outputs_by_a_grey_level_or_so():
    """upscale runs the convolutions in bfloat16 where the CPU has it; the picture must not change."""
    net = shipped()
    thumbs = [np.asarray(Image.open(io.BytesIO(decode(p.read_bytes()).thumb)).convert("RGB"))
              for p in real_photos()[:3]]
    fp32, bf16 = upscale(net, thumbs, bf16=False), upscale(net, thumbs, bf16=True)
    diffs = [np.abs(a.astype(int) - b.astype(int)) for a, b in zip(fp32, bf16, strict=True)]
    assert max(int(d.max()) for d in diffs) <= 4 and np.mean([d.mean() for d in diffs]) < 0.2
    assert any(d.max() > 0 for d in diffs)  # the bfloat16 path really ran


def test_a_widened_network_starts_as_the_narrow_one():
    narrow = perturbed(SRNet(nf=8, n_res=2, nf_mid=8, nf_hi=4), seed=1)
    wide = load_into_wider(SRNet(nf=16, n_res=2, nf_mid=12, nf_hi=8), narrow.state_dict()).eval()
    x = torch.rand(2, 3, 20, 24)
    with torch.inference_mode():
        assert torch.allclose(wide(x), narrow(x), atol=1e-6)
        assert not torch.allclose(perturbed(wide, seed=2)(x), narrow(x), atol=1e-3)  # the new channels are live


def test_a_narrower_network_cannot_take_the_weights():
    narrow = perturbed(SRNet(nf=8, n_res=2, nf_mid=8, nf_hi=4), seed=1)
    with pytest.raises(ValueError, match="does not fit"):
        load_into_wider(SRNet(nf=4, n_res=2, nf_mid=8, nf_hi=4), narrow.state_dict())


def test_a_network_with_other_layers_cannot_take_the_weights():
    narrow = perturbed(SRNet(nf=8, n_res=2, nf_mid=8, nf_hi=4), seed=1)
    with pytest.raises(ValueError, match="different layers"):
        load_into_wider(SRNet(nf=8, n_res=3, nf_mid=8, nf_hi=4), narrow.state_dict())
