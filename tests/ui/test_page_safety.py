"""The page against what a visitor can type or a folder can hold (issue 21): indexing only under the roots
`nounlens ui --allow-index` names (no escape through `..` or links), and file names of any bytes."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import copy_photos
from streamlit.testing.v1 import AppTest
from ui_support import APP

from nounlens.ui.roots import ALLOW_INDEX_ENV, roots_value

pytestmark = pytest.mark.slow
TIMEOUT = 120


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.fixture
def folders(tmp_path, monkeypatch) -> dict[str, Path]:
    """An allowed root and a folder beside it, each with a real photo; no catalogue yet."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    copy_photos(["coffee.png"], allowed)
    copy_photos(["chelsea.png"], outside)
    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(tmp_path / "catalogue"))
    monkeypatch.setenv(ALLOW_INDEX_ENV, roots_value([allowed]))
    return {"allowed": allowed, "outside": outside, "catalogue": tmp_path / "catalogue"}


def index_from_the_page(folder: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.sidebar.text_input(key="index_folder").input(folder)
    return at.sidebar.button(key="index_go").click().run()


def refused(at: AppTest, folders: dict[str, Path]) -> str:
    """The one-line error of a refused folder (nothing indexed: no catalogue was created)."""
    assert not at.exception, [e.value for e in at.exception]
    errors = [unescaped(e.value) for e in at.sidebar.error]
    assert len(errors) == 1 and "\n" not in errors[0], errors
    assert not (folders["catalogue"] / "manifest.json").exists()
    return errors[0]


def test_indexing_is_off_without_allow_index(folders, monkeypatch):
    monkeypatch.delenv(ALLOW_INDEX_ENV)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("indexing from this page is off" in unescaped(c.value) for c in at.sidebar.caption)
    assert not [b for b in at.sidebar.button if b.key == "index_go"]
    assert not [t for t in at.sidebar.text_input if t.key == "index_folder"]


def test_folder_outside_the_allowed_roots_is_refused(folders):
    assert "outside the folders this page may index" in refused(index_from_the_page(str(folders["outside"])), folders)


def test_dotdot_escape_is_refused(folders):
    sneaky = f"{folders['allowed']}/../outside"
    assert "outside the folders this page may index" in refused(index_from_the_page(sneaky), folders)


def test_symlinked_folder_leading_out_is_refused(folders):
    link = folders["allowed"] / "holiday"
    link.symlink_to(folders["outside"], target_is_directory=True)
    assert "outside the folders this page may index" in refused(index_from_the_page(str(link)), folders)


def test_link_inside_an_allowed_folder_leading_out_is_refused(folders):
    (folders["allowed"] / "cat.png").symlink_to(folders["outside"] / "chelsea.png")
    message = refused(index_from_the_page(str(folders["allowed"])), folders)
    assert "cat.png" in message and "links outside" in message


@pytest.fixture(scope="module")
def odd_name_catalogue(tmp_path_factory) -> Path:
    """A catalogue whose coffee photo is named with a byte that is not UTF-8 (Latin-1 "café.png")."""
    from nounlens.search.engine import Engine

    root = tmp_path_factory.mktemp("odd-name")
    gallery = root / "gallery"
    copy_photos(["chelsea.png", "rocket.jpg"], gallery)
    shutil.copyfile(copy_photos(["coffee.png"], root / "src")[0], os.fsencode(gallery) + b"/caf\xe9.png")
    engine = Engine.open(root / "catalogue", create=True)
    assert engine.index([gallery], workers=0, progress=False).added == 3
    engine.catalogue.close()
    return root / "catalogue"


def test_non_utf8_file_name_shows_with_a_replacement_character(odd_name_catalogue, monkeypatch):
    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(odd_name_catalogue))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at = at.text_input(key="q").input("espresso").run()
    assert not at.exception, [e.value for e in at.exception]
    opens = [b for b in at.button if b.key and b.key.startswith("open-")]
    assert unescaped(opens[0].label) == "caf\ufffd.png"
    at = opens[0].click().run()  # opened: its caption carries the whole path
    assert not at.exception, [e.value for e in at.exception]
    assert any("/caf\ufffd.png · " in unescaped(c) for img in at.get("image") for c in img.captions)
