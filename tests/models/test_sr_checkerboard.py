"""Checkerboard artefacts of the super-resolution network (models/sr.py): a measure of 2-pixel periodic
patterns, checked on itself, then on the shipped and a random network's outputs for smooth inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sr_support import perturbed, shipped
from torch import nn

from nounlens.models.sr import SRNet, upscale


def period2_amplitude(img: np.ndarray, border: int = 8) -> float:
    """RMS amplitude (grey levels) of the luma's 2-pixel periodic components: stripes along x or y
    and checkerboards, i.e. the spectrum's Nyquist rows and columns, under a Hann window so that a
    smooth gradient does not leak into them."""
    y = img[border:-border, border:-border].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    h, w = (s - s % 2 for s in y.shape)
    y = y[:h, :w] - y[:h, :w].mean()
    win = np.outer(np.hanning(h), np.hanning(w))
    spec = np.abs(np.fft.fft2(y * win)) ** 2
    fy, fx = np.abs(np.fft.fftfreq(h))[:, None], np.abs(np.fft.fftfreq(w))[None, :]
    band = (fy >= 0.5 - 1.5 / h) | (fx >= 0.5 - 1.5 / w)  # the Nyquist lines and their window spread
    return float(np.sqrt(spec[band].sum() / (h * w) / (win ** 2).sum()))


MAX_PERIOD2 = 0.4  # grey levels; a +-1 grey-level checkerboard reads 1.0


def smooth_inputs() -> dict[str, np.ndarray]:
    i, j = np.mgrid[0:72, 0:96].astype(np.float64)
    ramp = lambda v: np.clip(v, 0, 255).round().astype(np.uint8)  # noqa: E731
    radial = 40 + 150 * np.exp(-((i - 30) ** 2 + (j - 50) ** 2) / (2 * 30 ** 2))
    return {"flat grey": np.full((72, 96, 3), 118, np.uint8),
            "flat colour": np.broadcast_to(np.array([200, 90, 30], np.uint8), (72, 96, 3)).copy(),
            "horizontal ramp": np.repeat(ramp(30 + 2 * j)[..., None], 3, axis=2),
            "vertical ramp": np.stack([ramp(20 + 3 * i), ramp(200 - i), ramp(100 + i)], axis=2),
            "diagonal ramp": np.repeat(ramp(20 + i + 1.5 * j)[..., None], 3, axis=2),
            "radial": np.repeat(ramp(radial)[..., None], 3, axis=2)}


def gradient() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i, j = np.mgrid[0:288, 0:384].astype(np.float64)
    return i, j, np.repeat((20 + 0.3 * i + 0.4 * j + 10 * np.sin(i / 40))[..., None], 3, axis=2)


# the measure itself: a smooth gradient reads near zero, a 1-grey-level checkerboard or stripe pattern on
# it reads about 1, and a strided transposed convolution (the classic culprit) draws one on a flat input
def test_period2_measure_ignores_a_smooth_gradient():
    assert period2_amplitude(gradient()[2]) < 0.01


def test_period2_measure_sees_a_checkerboard():
    i, j, ramp = gradient()
    assert period2_amplitude(ramp + ((i + j) % 2 * 2 - 1)[..., None]) > 0.9


def test_period2_measure_sees_stripes():
    _, j, ramp = gradient()
    assert period2_amplitude(ramp + (j % 2 * 2 - 1)[..., None]) > 0.9


def test_period2_measure_sees_a_transposed_convolutions_pattern():
    deconv = nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1, output_padding=1)
    nn.init.uniform_(deconv.weight, 0.0, 1.0)
    with torch.inference_mode():
        flat = deconv(torch.full((1, 3, 36, 48), 0.5))[0].permute(1, 2, 0).numpy()
    assert period2_amplitude(flat / flat.max() * 200) > 1.0


@pytest.fixture(scope="module", params=["shipped", "random"])
def net(request):
    return request.param, shipped() if request.param == "shipped" else perturbed(SRNet(), seed=3)


@pytest.mark.parametrize("name", list(smooth_inputs()))
def test_no_checkerboard_on_flat_or_graded_inputs(net, name):
    which, net = net
    out = upscale(net, [smooth_inputs()[name]])[0]
    amp = period2_amplitude(out)
    # rounding a smooth ramp to uint8 alone can read 0.25 (Pillow's bicubic of the horizontal ramp does)
    assert amp < MAX_PERIOD2, f"{which}, {name}: 2-pixel periodic amplitude {amp:.3f} grey levels"
    if name.startswith("flat"):
        assert np.ptp(out.astype(int), axis=(0, 1)).max() <= 1, f"{which}, {name} is not flat"
