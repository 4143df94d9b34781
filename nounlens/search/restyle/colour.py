"""Colour preservation for style transfer (Gatys, Bethge, Hertzmann & Shechtman 2017, "Preserving
colour in neural artistic style transfer"): either transfer on luminance only and keep the photo's
chroma, or first recolour the painting so its colour statistics match the photo's.

All on float32 (h, w, 3) RGB in [0, 1]. YCbCr is the full-range BT.601 (JPEG) one.
"""

from __future__ import annotations

import numpy as np

_TO_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)
_FROM_YCC = np.linalg.inv(_TO_YCC).astype(np.float32)


def to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """Y in [0, 1], Cb and Cr centred on 0."""
    return rgb @ _TO_YCC.T


def from_ycbcr(ycc: np.ndarray) -> np.ndarray:
    return np.clip(ycc @ _FROM_YCC.T, 0.0, 1.0)


def grey(rgb: np.ndarray) -> np.ndarray:
    """The luminance as a three-channel grey image (what the loss network sees in luminance mode)."""
    return np.repeat(to_ycbcr(rgb)[..., :1], 3, axis=2)


def match_luminance(style: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """The painting's grey image with its luminance mean and spread moved to the photo's (as the
    paper does before luminance-only transfer, so the result keeps the photo's brightness)."""
    ys, yp = to_ycbcr(style)[..., 0], to_ycbcr(photo)[..., 0]
    y = (ys - ys.mean()) * (yp.std() / max(float(ys.std()), 1e-6)) + yp.mean()
    return np.repeat(np.clip(y, 0.0, 1.0)[..., None], 3, axis=2)


def keep_chroma(result: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """The result's luminance with the photo's Cb and Cr."""
    ycc = to_ycbcr(photo)
    ycc[..., 0] = to_ycbcr(result)[..., 0]
    return from_ycbcr(ycc)


def _sqrtm(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 1e-5, None) ** (-0.5 if inverse else 0.5)
    return (vecs * vals) @ vecs.T


def match_colours(style: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """The painting recoloured by the affine map that gives its pixels the photo's colour mean and
    covariance (the paper's "colour histogram matching", image-analogies variant: symmetric square roots)."""
    s, p = style.reshape(-1, 3).astype(np.float64), photo.reshape(-1, 3).astype(np.float64)
    mu_s, mu_p = s.mean(0), p.mean(0)
    a = _sqrtm(np.cov(p.T)) @ _sqrtm(np.cov(s.T), inverse=True)
    out = (s - mu_s) @ a.T + mu_p
    return np.clip(out, 0.0, 1.0).reshape(style.shape).astype(np.float32)
