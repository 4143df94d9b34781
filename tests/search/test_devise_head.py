"""The shipped DeViSE head in the engine: named in the catalogue's manifest and checked on opening,
and switching a catalogue between ConSE and DeViSE by re-embedding its stored features."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from nounlens.data.errors import NounlensError
from nounlens.models.embed import ModelStack, shipped_head
from nounlens.search.engine import Engine, check_models


def needs_shipped_head() -> None:
    if not shipped_head("minilm").exists():
        pytest.skip("no shipped minilm head")


def test_the_devise_head_is_named_in_the_manifest():
    needs_shipped_head()
    recorded = ModelStack(head="devise").describe()
    assert recorded["embed"]["head"] == "devise" and recorded["embed"]["digest"]


def test_a_catalogue_made_with_the_devise_head_refuses_conse(tmp_path):
    needs_shipped_head()
    devise = ModelStack(head="devise")
    recorded = devise.describe()
    check_models(SimpleNamespace(path=tmp_path), recorded, devise)
    with pytest.raises(NounlensError, match="--reembed.*--head conse"):
        check_models(SimpleNamespace(path=tmp_path), recorded, ModelStack(head="conse"))


def test_an_unknown_image_embedding_is_an_error():
    needs_shipped_head()
    with pytest.raises(NounlensError, match="unknown image embedding"):
        ModelStack(head="clip")


@pytest.fixture(scope="module")
def conse_catalogue(tmp_path_factory) -> SimpleNamespace:
    """Three demo photos indexed with the default head; each test works on its own copy."""
    from nounlens.data.demo import write_demo_gallery

    needs_shipped_head()
    root = tmp_path_factory.mktemp("switch")
    gallery = write_demo_gallery(root / "gallery")
    photos = sorted(gallery.iterdir())[:3]
    engine = Engine.open(root / "cat", create=True)
    engine.index(photos, workers=0, progress=False)
    head = engine.catalogue.manifest["models"]["embed"]["head"]
    _, before = engine.catalogue.vectors()
    engine.catalogue.close()
    return SimpleNamespace(path=root / "cat", photos=photos, head=head, before=before)


def copy_of(catalogue: SimpleNamespace, tmp_path):
    return shutil.copytree(catalogue.path, tmp_path / "cat")


def test_a_new_catalogue_uses_conse(conse_catalogue):
    assert conse_catalogue.head == "conse"


def test_switching_heads_needs_reembed(conse_catalogue, tmp_path):
    with pytest.raises(NounlensError, match="--reembed --encoder minilm --head devise"):
        Engine.open(copy_of(conse_catalogue, tmp_path), head="devise")


def test_reembed_projects_the_stored_features_without_reading_a_photo(conse_catalogue, tmp_path):
    engine = Engine.open(copy_of(conse_catalogue, tmp_path), create=True, head="devise")
    for p in conse_catalogue.photos:  # a re-projection must not read a photo
        p.unlink(missing_ok=True)
    assert engine.reembed() == 3
    _, after = engine.catalogue.vectors()
    engine.catalogue.close()
    assert after.shape == conse_catalogue.before.shape and not np.allclose(after, conse_catalogue.before)


def test_a_reembedded_catalogue_opens_with_the_devise_head(conse_catalogue, tmp_path):
    cat = copy_of(conse_catalogue, tmp_path)
    engine = Engine.open(cat, create=True, head="devise")
    engine.reembed()
    engine.catalogue.close()
    reopened = Engine.open(cat)  # the manifest now names the DeViSE head
    assert reopened.models.head == "devise"
    assert reopened.catalogue.manifest["models"]["embed"]["name"] == "devise:devise-minilm"
    assert len(reopened.search("cat", k=3)) == 3
