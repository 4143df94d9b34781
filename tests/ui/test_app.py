"""The Streamlit page's logic through Streamlit's AppTest: query -> results, suggestions, threshold,
empty and no-match states, opening a photo, uploads good and bad, and the two maps."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from markdown_it import MarkdownIt
from PIL import Image
from streamlit.testing.v1 import AppTest
from ui_support import APP, build_demo_catalogue

from nounlens.search.photos import MAX_UPLOAD_BYTES
from nounlens.ui.roots import ALLOW_INDEX_ENV, roots_value

pytestmark = pytest.mark.slow
TIMEOUT = 120  # the first run loads the models


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo_catalogue(tmp_path_factory.mktemp("ui-app"))


@pytest.fixture
def page(demo, monkeypatch):
    catalogue, _ = demo
    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(catalogue))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()


def search(at: AppTest, text: str) -> AppTest:
    return at.text_input(key="q").input(text).run()


def unescaped(markdown: str) -> str:
    """Text the page escaped for markdown (ui.text.plain), as the browser shows it."""
    return re.sub(r"\\(.)", r"\1", markdown)


def shown(at: AppTest) -> list[str]:
    """File names of the result grid, in order (each is the button that opens the photo)."""
    return [unescaped(b.label) for b in at.button if b.key and b.key.startswith("open-")]


def scores(at: AppTest) -> list[float]:
    return [float(c.split(" · ")[0]) for img in at.get("image") for c in img.captions]


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_query_shows_the_matching_photo_first(page):
    assert any("Type a noun" in i.value for i in page.info)  # empty query: a prompt, no grid
    assert shown(page) == []
    at = search(page, "espresso")
    no_exceptions(at)
    assert shown(at)[0] == "coffee.png"
    assert any("searching for **espresso** (n07920052" in c.value for c in at.caption)
    assert scores(at) == sorted(scores(at), reverse=True)


def test_suggestions_carry_glosses_and_pick_a_sense(page):
    at = search(page, "cran")
    labels = [b.label for b in at.button if b.key and b.key.startswith("sugg-")]
    bird = next(j for j, label in enumerate(labels) if label.startswith("**crane (wading bird)**"))
    assert any(label.startswith("**crane (lifting device)**") for label in labels)
    assert "long-necked" in labels[bird]  # the gloss tells the senses apart
    at = at.button(key=f"sugg-{bird}").click().run()
    no_exceptions(at)
    assert at.text_input(key="q").value == "crane%wading bird"
    assert any("n02012849" in c.value for c in at.caption)  # that sense, not the machine
    assert not [b for b in at.button if b.key and b.key.startswith("sugg-")]  # picked: the list closes


def test_free_text_and_arithmetic(page):
    at = search(page, "a cup of coffee")
    no_exceptions(at)
    assert shown(at)[0] == "coffee.png"
    assert any("(free text)" in c.value for c in at.caption)
    at = search(at, "engine + motorcycle - grass")
    no_exceptions(at)
    assert "**engine**" in next(c.value for c in at.caption if c.value.startswith("searching for"))


def test_threshold_hides_weak_matches_and_says_no_good_match(page):
    at = search(page, "cat")
    at = at.slider(key="threshold").set_value(-1.0).run()
    all_scores = scores(at)
    assert shown(at)[0] == "chelsea-the-cat.png" and len(all_scores) >= 10
    cut = round((all_scores[0] + all_scores[1]) / 2, 2)  # between the best and the runner-up
    assert all_scores[1] < cut <= all_scores[0]
    at = at.slider(key="threshold").set_value(cut).run()
    assert shown(at) == ["chelsea-the-cat.png"]
    assert scores(at) == [all_scores[0]]
    at = at.slider(key="threshold").set_value(1.0).run()
    no_exceptions(at)
    assert shown(at) == []  # not the least bad photos
    assert any("No good match" in w.value and f"{all_scores[0]:.3f}" in w.value for w in at.warning)


def test_how_many(page):
    at = page.slider(key="threshold").set_value(-1.0).run()
    at = search(at, "photograph")
    assert len(shown(at)) == 18  # all of the gallery under the default 20
    at = at.select_slider(key="k").set_value(10).run()
    assert len(shown(at)) == 10


def page_ids(at: AppTest) -> list[int]:
    """Catalogue ids of the result grid, in order (from the keys of the buttons that open them)."""
    return [int(b.key.split("-", 1)[1]) for b in at.button if b.key and b.key.startswith("open-")]


def cli_ids(catalogue, query: str, k: int, *flags: str) -> list[int]:
    out = subprocess.run([sys.executable, "-m", "nounlens", "search", query, "-k", str(k), "--json", *flags,
                          "--catalogue", str(catalogue)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    return [r["id"] for r in json.loads(out.stdout)]


def test_page_ranks_as_the_cli_does(page, demo):
    catalogue, _ = demo
    at = search(page.slider(key="threshold").set_value(-1.0).run().select_slider(key="k").set_value(10).run(), "person")
    no_exceptions(at)
    assert page_ids(at) == cli_ids(catalogue, "person", 10)  # the default re-ranking on both sides


def test_page_switches_give_the_cli_plain_ranking(page, demo):
    catalogue, _ = demo
    at = page.slider(key="threshold").set_value(-1.0).run().select_slider(key="k").set_value(10).run()
    at = search(at.checkbox(key="no_hierarchy").check().run().checkbox(key="no_feedback").check().run(), "person")
    no_exceptions(at)
    plain = cli_ids(catalogue, "person", 10, "--no-hierarchy", "--no-feedback")
    assert page_ids(at) == plain and plain != cli_ids(catalogue, "person", 10)  # "person" ranks differently


def markdown_sent(at: AppTest) -> list[str]:
    """Every piece of markdown the page sent: messages, captions, button labels and tooltips."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return ([e.value for kind in kinds for e in getattr(at, kind)] + [b.label for b in at.button]
            + [b.help for b in at.button if b.help] + [c for img in at.get("image") for c in img.captions])


def rendered_tokens(markdown: str) -> list:
    tokens = MarkdownIt("commonmark").enable("strikethrough").parse(markdown)
    return tokens + [child for t in tokens for child in (t.children or [])]


def test_query_text_is_never_markdown(demo, monkeypatch):
    catalogue, _ = demo
    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(catalogue))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    query = "![x](http://host/x.png) <img src=http://host/y.png> [z](http://host/)"
    at.query_params["q"] = query  # a shared link: ?q=...
    at = at.run()
    no_exceptions(at)
    sent = markdown_sent(at)
    assert any(query in unescaped(m) for m in sent)  # the query is shown, as typed
    kinds = {t.type for m in sent for t in rendered_tokens(m)}
    assert not kinds & {"image", "link_open", "html_inline", "html_block"}, kinds


def test_error_details_are_off(page):
    from streamlit import config

    no_exceptions(page)
    assert config.get_option("client.showErrorDetails") == "none"  # the traceback goes to the server log


def test_malformed_query_is_a_message(page):
    at = search(page, "dog + ")
    no_exceptions(at)
    assert any("operator" in e.value for e in at.error)


def test_open_a_result_shows_its_nouns_and_similar_photos(page):
    at = search(page, "espresso")
    at = at.button(key=next(b.key for b in at.button if unescaped(b.label) == "coffee.png")).click().run()
    no_exceptions(at)
    assert at.radio(key="view").value == "Photo"
    nouns = next(m.value for m in at.markdown if m.value.startswith("- **"))
    assert "**espresso**" in nouns and "strong black coffee" in nouns  # names with glosses
    similar = [b.label for b in at.button if b.key and b.key.startswith("similar-")]
    assert len(similar) == 10 and "coffee.png" not in map(unescaped, similar)
    at = at.button(key=next(b.key for b in at.button if b.label == similar[0])).click().run()  # browse on
    assert any(similar[0] in (img.captions[0] if img.captions else "") for img in at.get("image"))


def upload(at: AppTest, name: str, data: bytes, mime: str) -> AppTest:
    at = at.radio(key="view").set_value("Upload").run()
    at.file_uploader(key="upload").set_value((name, data, mime))
    return at.run()


def test_bad_uploads_get_a_message_not_a_traceback(page, demo):
    _, gallery = demo
    cases = {
        "notes.txt": b"this is not a photo\n" * 20,
        "truncated.png": (gallery / "coffee.png").read_bytes()[:400],
        "empty.jpg": b"",
        "huge.jpg": b"\xff\xd8\xff" + bytes(MAX_UPLOAD_BYTES),
    }
    for name, data in cases.items():
        at = upload(page, name, data, "application/octet-stream")
        no_exceptions(at)
        assert at.error, name
        message = unescaped(at.error[0].value)
        assert name in message or "uploaded image" in message, message
    assert "limit" in upload(page, "huge.jpg", cases["huge.jpg"], "image/jpeg").error[0].value


def test_upload_a_photo(page, demo):
    _, gallery = demo
    buf = io.BytesIO()
    Image.open(gallery / "coffee.png").convert("RGB").save(buf, "JPEG", quality=90)  # a copy, not the file
    at = upload(page, "my-coffee.jpg", buf.getvalue(), "image/jpeg")
    no_exceptions(at)
    assert "**espresso**" in next(m.value for m in at.markdown if m.value.startswith("- **"))
    assert [unescaped(b.label) for b in at.button if b.key and b.key.startswith("upsim-")][0] == "coffee.png"


def test_maps(page, demo):
    catalogue, _ = demo
    at = search(page, "cat")
    at = at.radio(key="view").set_value("Map").run()
    no_exceptions(at)
    with np.load(catalogue / "map.npz") as z:  # cached in the catalogue, keyed by its generation
        assert int(z["generation"]) >= 1 and z["xy"].shape == (len(z["ids"]), 2)
    assert any("ringed" in c.value for c in at.caption)  # the query's results are marked
    at = at.radio(key="view").set_value("Nouns").run()
    no_exceptions(at)
    assert not at.error
    at = at.text_input(key="noun_word").input("engine + boat").run()
    assert any("not one WordNet noun" in e.value for e in at.error)


def test_no_catalogue_then_index_a_folder_from_the_page(demo, tmp_path, monkeypatch):
    _, gallery = demo
    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(tmp_path / "new-catalogue"))
    monkeypatch.setenv(ALLOW_INDEX_ENV, roots_value([gallery.parent, tmp_path]))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exceptions(at)
    assert any("No catalogue at" in i.value for i in at.info)
    at.sidebar.text_input(key="index_folder").input(str(tmp_path / "no-such-folder"))
    at = at.sidebar.button(key="index_go").click().run()
    assert any("not a folder" in e.value for e in at.sidebar.error)
    at.sidebar.text_input(key="index_folder").input(str(gallery))
    at = at.sidebar.button(key="index_go").click().run()
    no_exceptions(at)
    assert any(s.value.startswith("added 18") for s in at.sidebar.success), [s.value for s in at.sidebar.success]
    assert shown(search(at, "espresso"))[0] == "coffee.png"  # the new catalogue is searchable at once


def test_empty_catalogue(tmp_path, monkeypatch):
    from nounlens.search.engine import Engine

    empty = tmp_path / "empty"
    Engine.open(empty, create=True).catalogue.close()
    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(empty))
    at = search(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run(), "cat")
    no_exceptions(at)
    assert any("no photos yet" in i.value for i in at.info)
