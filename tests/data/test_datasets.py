"""Labelled photo layouts (data/datasets.py): class folders, WordNet ids in file names, labels.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from nounlens.data.datasets import load_labelled
from nounlens.data.errors import NounlensError


def test_class_folders(tmp_path):
    folders = tmp_path / "folders" / "train"
    for wnid in ("n01440764", "n01443537"):
        (folders / wnid / "images").mkdir(parents=True)
        (folders / wnid / "images" / "a.JPEG").write_bytes(b"x")
    items = load_labelled(tmp_path / "folders", "train")
    assert [(Path(i.path).name, i.wnid) for i in items] == [("a.JPEG", "n01440764"), ("a.JPEG", "n01443537")]


def test_wordnet_ids_in_file_names(tmp_path):
    named = tmp_path / "named"
    named.mkdir()
    for name in ("n01440764_tench.JPEG", "n01443537_1.jpg", "readme.txt", "holiday.jpg"):
        (named / name).write_bytes(b"x")
    assert [i.wnid for i in load_labelled(named)] == ["n01440764", "n01443537"]


@pytest.fixture
def csv(tmp_path) -> Path:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "labels.csv").write_text("path,wnid,split\na.jpg,n01440764,train\nb.jpg,n01443537,val\n")
    return folder


def test_labels_csv_picks_a_split(csv):
    assert [i.wnid for i in load_labelled(csv, "val")] == ["n01443537"]


def test_labels_csv_paths_are_relative_to_its_folder(csv):
    assert Path(load_labelled(csv)[0].path) == (csv / "a.jpg").absolute()


def test_labels_csv_needs_wordnet_ids(csv):
    (csv / "labels.csv").write_text("path,wnid\na.jpg,dog\n")
    with pytest.raises(NounlensError, match="WordNet noun ids"):
        load_labelled(csv)


def test_a_folder_without_labelled_photos_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NounlensError, match="no labelled photos"):
        load_labelled(tmp_path / "empty")
