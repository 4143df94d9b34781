"""Shared by the restyling tests (tests/models/, tests/search/restyle/, tests/trainer/style/, tests/cli/):
real photos from scikit-image, and settings small enough for a test to run in about a second."""

from __future__ import annotations

import numpy as np

FAST = dict(size=64, steps=12, threads=1)  # small and few: what the tests need is the direction


def skimage_photo(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()


def photo() -> np.ndarray:
    return skimage_photo("coffee")  # 400 x 600 RGB


def painting() -> np.ndarray:
    return skimage_photo("astronaut")  # a different picture, standing in for a painting
