"""What the UI asks of the engine: noun suggestions, the cached photo map, the noun map, catalogue-only
photos, upload checks, and how `nounlens ui` starts Streamlit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from ui_support import build_demo_catalogue

from nounlens.data.errors import NounlensError
from nounlens.search.maps import UMAP_MIN, project_2d
from nounlens.search.photos import MAX_UPLOAD_BYTES, check_upload
from nounlens.search.suggest import last_term
from nounlens.ui.launch import streamlit_argv
from nounlens.ui.roots import ALLOW_INDEX_ENV, allowed_roots, roots_value


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from nounlens.search.engine import Engine

    catalogue, _ = build_demo_catalogue(tmp_path_factory.mktemp("ui-engine"))
    e = Engine.open(catalogue)
    yield e
    e.catalogue.close()


def test_last_term_keeps_the_rest_of_the_query():
    assert last_term("okap") == ("", "okap")
    assert last_term("engine + bo") == ("engine + ", "bo")
    assert last_term("dog - 2*gra") == ("dog - 2*", "gra")
    assert last_term("t-shir") == ("", "t-shir")  # a hyphen inside a word is not an operator


def test_suggestions_tell_senses_apart_and_resolve_to_them(engine):
    found = {s.label: s for s in engine.suggest("crane", 8)}
    bird, machine = found["crane (wading bird)"], found["crane (lifting device)"]
    assert "long-necked" in bird.gloss and "lifts" in machine.gloss
    assert bird.branch == "animal" and machine.branch == "artifact"
    for s in (bird, machine):  # each suggestion's query selects exactly its own sense
        assert engine.explain(s.query)[0]["wnid"] == s.wnid
    assert {s.wnid for s in engine.suggest("crane", 8)} >= {"n02012849", "n03126707"}


def test_suggestions_complete_the_last_term_and_inner_words(engine):
    boat = engine.suggest("engine + boa", 8)
    assert boat[0].query.startswith("engine + boa")
    assert engine.explain(boat[0].query)[0]["name"] == "engine"
    assert "golden retriever" in [s.lemma for s in engine.suggest("retriev", 8)]  # a later word matches too
    assert engine.suggest("okap", 3)[0].lemma == "okapi"
    assert engine.suggest("", 5) == [] and engine.suggest("crane%bird", 5) == []
    assert engine.suggest("zzqxv", 5) == []


def test_photo_map_is_cached_per_generation(engine):
    m = engine.photo_map()
    assert len(m) == len(engine.catalogue) and m.xy.shape == (len(m), 2) and np.isfinite(m.xy).all()
    assert m.method == "pca"  # 18 photos: too few for UMAP's neighbourhoods
    assert m.generation == engine.catalogue.generation()
    cached = engine.photo_map()
    assert np.array_equal(cached.xy, m.xy)
    wn = engine.wordnet
    cat = engine.catalogue.id_for_path(next(r.path for r in engine.catalogue.iter_records()
                                            if r.path.endswith("chelsea-the-cat.png")))
    assert wn.branch(int(m.top[list(m.ids).index(cat)])) == "animal"


def test_umap_separates_two_clusters():
    rng = np.random.default_rng(0)
    n = max(UMAP_MIN, 80) // 2
    centre = rng.normal(size=32)
    vecs = np.vstack([centre + rng.normal(0, 0.1, (n, 32)), -centre + rng.normal(0, 0.1, (n, 32))]).astype(np.float32)
    xy, method = project_2d(vecs)
    assert method == "umap" and xy.shape == (2 * n, 2)
    a, b = xy[:n].mean(axis=0), xy[n:].mean(axis=0)
    spread = max(np.linalg.norm(xy[:n] - a, axis=1).max(), np.linalg.norm(xy[n:] - b, axis=1).max())
    assert np.linalg.norm(a - b) > spread  # the two groups land apart


def test_noun_map(engine):
    nouns = engine.noun_map("dog", 10)
    assert nouns[0]["wnid"] == "n02084071" and nouns[0]["relation"] == "the noun"
    relations = {n["relation"] for n in nouns}
    assert "text space" in relations or "both" in relations
    assert any(r.startswith("WordNet") for r in relations) or "both" in relations
    assert all(np.isfinite([n["x"], n["y"]]).all() for n in nouns)
    with pytest.raises(NounlensError):
        engine.noun_map("engine + boat")


def test_only_catalogue_photos_are_served(engine):
    i = next(iter(engine.catalogue.iter_records())).id
    assert engine.photo(i, max_side=256)[:2] == b"\xff\xd8"
    with pytest.raises(NounlensError, match="not in the catalogue"):
        engine.photo(10**9)
    assert [n["name"] for n in engine.photo_nouns(i, 3)]
    assert i not in [r.id for r in engine.similar_to(i, 5)]


def test_upload_checks():
    check_upload("ok.jpg", b"\xff\xd8" + bytes(100))
    with pytest.raises(NounlensError, match="empty"):
        check_upload("e.jpg", b"")
    with pytest.raises(NounlensError, match="limit"):
        check_upload("big.jpg", bytes(MAX_UPLOAD_BYTES + 1))


def test_ui_listens_on_localhost_and_serves_no_static_files():
    argv = streamlit_argv(8501)
    opts = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert opts["--server.address"] == "127.0.0.1" and opts["--server.port"] == "8501"
    assert opts["--server.enableStaticServing"] == "false" and opts["--browser.gatherUsageStats"] == "false"
    assert opts["--client.showErrorDetails"] == "none"  # one line in the browser, the traceback in the log
    assert streamlit_argv(9000, "0.0.0.0")[argv.index("--server.address") + 1] == "0.0.0.0"
    with pytest.raises(NounlensError):
        streamlit_argv(70000)


def test_allow_index_roots_are_resolved_and_must_be_folders(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "photos")
    assert allowed_roots({ALLOW_INDEX_ENV: roots_value([tmp_path / "link"])}) == [(tmp_path / "photos").resolve()]
    assert allowed_roots({}) == [] and allowed_roots({ALLOW_INDEX_ENV: "not json"}) == []  # off, not open
    with pytest.raises(NounlensError, match="no such folder"):
        roots_value([tmp_path / "none"])


def test_ui_with_a_missing_allow_index_folder_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "nounlens", "ui", "--allow-index", str(tmp_path / "none"),
                          "--catalogue", str(tmp_path / "cat")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "no such folder" in out.stderr and len(out.stderr.strip().splitlines()) == 1
