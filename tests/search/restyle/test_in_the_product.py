"""Restyling a photo opened from a catalogue, through Engine.stylize and through the page's restyle panel."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nounlens.data.errors import NounlensError
from nounlens.search.engine import Engine


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> SimpleNamespace:
    """Two photos indexed; the id of one of them."""
    from conftest import copy_photos

    tmp_path = tmp_path_factory.mktemp("restyle")
    gallery = copy_photos(["coffee.png", "rocket.jpg"], tmp_path / "gallery")[0].parent
    engine = Engine.open(tmp_path / "cat", create=True)
    engine.index([gallery], workers=0, progress=False)
    i = engine.catalogue.id_for_path(str(gallery / "coffee.png"))
    engine.catalogue.close()
    return SimpleNamespace(path=tmp_path / "cat", id=i)


@pytest.fixture
def engine(catalogue):
    engine = Engine.open(catalogue.path)
    yield engine
    engine.catalogue.close()


@pytest.mark.slow
def test_the_engine_restyles_an_opened_result(engine, catalogue):
    r = engine.stylize(catalogue.id, size=96)
    assert r.method == "stylizer:style-irises" and r.image.shape == (64, 96, 3)


@pytest.mark.slow
def test_the_engine_names_an_unknown_photo(engine):
    with pytest.raises(NounlensError, match="no photo with id"):
        engine.stylize(10**9)


@pytest.mark.slow
def test_the_page_restyles_an_opened_result(catalogue, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from ui_support import APP

    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(catalogue.path))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.session_state.open_id = catalogue.id
    at = at.radio(key="view").set_value("Photo").run()
    at = at.button(key="restyle_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("stylizer:style-irises" in c for img in at.get("image") for c in img.captions)
