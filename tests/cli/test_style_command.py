"""`nounlens style`: restyling a photo with the shipped stylizer or by optimisation, and its errors."""

from __future__ import annotations

import json

import pytest
from conftest import copy_photos
from PIL import Image

from nounlens.cli import main


@pytest.fixture
def photo(tmp_path):
    return copy_photos(["coffee.png"], tmp_path)[0]


def test_style_command_with_the_shipped_stylizer(photo, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["style", str(photo), "--out", str(out), "--size", "96", "--colour", "luminance", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "stylizer:style-irises" and (d["width"], d["height"]) == (96, 64)
    assert Image.open(out).size == (96, 64)


def test_style_command_needs_a_known_picture_format(photo, tmp_path, capsys):
    assert main(["style", str(photo), "--out", str(tmp_path / "x.gif")]) == 1
    assert "give a .png" in capsys.readouterr().err


def test_a_stylizer_cannot_match_the_histogram(photo, tmp_path, capsys):
    assert main(["style", str(photo), "--out", str(tmp_path / "out.png"), "--colour", "histogram"]) == 1
    assert "needs --style" in capsys.readouterr().err.strip()


def test_style_command_on_a_missing_photo(tmp_path, capsys):
    assert main(["style", str(tmp_path / "none.jpg"), "--out", str(tmp_path / "out.png")]) == 1
    assert "no such photo" in capsys.readouterr().err


def test_style_command_by_optimisation_with_a_mask(tmp_path, capsys):
    photo, style = copy_photos(["coffee.png", "astronaut.png"], tmp_path)
    out = tmp_path / "out.jpg"
    assert main(["style", str(photo), "--style", str(style), "--out", str(out), "--size", "64", "--steps", "5",
                 "--mask", "right", "--threads", "1"]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"wrote {out} (64x43, optimisation") and "style loss" in line
