"""`nounlens thumb`: a photo's thumbnail, as the indexer makes it, shown x4."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nounlens.cli import main


@pytest.fixture
def photo(tmp_path, monkeypatch):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(photo)
    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(tmp_path / "no-catalogue"))
    return photo


def test_thumb_command_on_a_path_outside_any_catalogue(photo, tmp_path):
    out = tmp_path / "x4.png"
    assert main(["thumb", str(photo), "--out", str(out)]) == 0
    with Image.open(out) as im:
        assert im.size == (384, 288)  # the indexer's 72-px short-side thumbnail, x4


def test_thumb_command_on_a_missing_photo_fails(photo, tmp_path):
    assert main(["thumb", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "x4.png")]) == 1
