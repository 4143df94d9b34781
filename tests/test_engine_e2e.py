"""End to end on the photos scikit-image ships, through the Python API and the real CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nounlens import Engine
from nounlens.data.errors import NounlensError


def names(results):
    return [Path(r.path).name for r in results]


def test_cat_finds_chelsea_first(demo_engine):
    results = demo_engine.search("cat", k=5)
    assert names(results)[0] == "chelsea-the-cat.png"
    assert results[0].score > results[1].score
    assert any("cat" in n["name"] or n["name"] == "tabby" for n in results[0].nouns)


@pytest.mark.parametrize("query", ["coffee", "espresso"])
def test_coffee_finds_the_coffee_photo(demo_engine, query):
    assert names(demo_engine.search(query, k=3))[0] == "coffee.png"


def test_label_rocket_says_rocket_or_missile(demo_engine, demo_gallery):
    nouns = demo_engine.label(demo_gallery / "rocket.jpg", k=5)
    assert {"wnid", "name", "gloss", "score"} <= set(nouns[0])
    text = " ".join(n["name"] + " " + n["gloss"] for n in nouns).lower()
    assert any(w in text for w in ("rocket", "missile", "spacecraft"))


def test_similar_excludes_itself_and_works_for_outside_photos(demo_engine, demo_gallery, tmp_path):
    results = demo_engine.similar(demo_gallery / "coffee.png", k=4)
    assert "coffee.png" not in names(results) and len(results) == 4
    outside = tmp_path / "cat-copy.png"
    outside.write_bytes((demo_gallery / "chelsea-the-cat.png").read_bytes())
    assert names(demo_engine.similar(outside, k=1)) == ["chelsea-the-cat.png"]


def test_nouns_near_dog(demo_engine):
    nouns = demo_engine.nouns("dog", k=10)
    assert nouns[0]["wnid"] == "n02084071"
    assert len(nouns) == 10 and nouns[0]["score"] >= nouns[-1]["score"]


def test_arithmetic_and_free_text_queries_run(demo_engine):
    assert demo_engine.search("2*cat + coffee - rocket", k=3)
    assert names(demo_engine.search("a cup of coffee", k=1)) == ["coffee.png"]


def test_model_mismatch_is_an_error(demo_engine):
    with pytest.raises(NounlensError, match="reembed"):
        Engine.open(demo_engine.catalogue.path, encoder="glove")


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "nounlens", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_cli_json_outputs(demo_engine, demo_gallery):
    cat = str(demo_engine.catalogue.path)
    out = run_cli("search", "cat", "-k", "3", "--json", "--catalogue", cat)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert Path(results[0]["path"]).is_absolute() and "score" in results[0]
    assert Path(results[0]["path"]).name == "chelsea-the-cat.png"
    out = run_cli("label", str(demo_gallery / "coffee.png"), "--json", "--catalogue", cat)
    assert {"wnid", "name", "gloss", "score"} <= set(json.loads(out.stdout)[0])
    out = run_cli("nouns", "okapi", "-k", "3", "--json", "--catalogue", cat)
    assert json.loads(out.stdout)[0]["name"] == "okapi"
    out = run_cli("info", "--json", "--catalogue", cat)
    info = json.loads(out.stdout)
    assert info["catalogue"]["photos"] == len(list(demo_gallery.iterdir()))
    assert info["image_library"]["pil"] in ("pillow-simd", "Pillow")


@pytest.mark.parametrize("args, message", [
    (["search", "  "], "empty query"),
    (["search", "dog", "+"], "malformed"),
    (["search", "n99999999"], "unknown wnid"),
    (["similar", "/no/such/photo.jpg"], "no such photo"),
])
def test_cli_errors_are_one_line(demo_engine, args, message):
    out = run_cli(*args, "--catalogue", str(demo_engine.catalogue.path))
    assert out.returncode == 1
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_cli_missing_catalogue_and_model_mismatch(tmp_path, demo_engine):
    out = run_cli("search", "dog", "--catalogue", str(tmp_path / "none"))
    assert out.returncode == 1 and "no catalogue" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("index", str(tmp_path), "--encoder", "glove", "--catalogue", str(demo_engine.catalogue.path))
    assert out.returncode == 1 and "reembed" in out.stderr


def test_demo_command_runs_on_a_given_gallery(tmp_path, demo_gallery):
    out = run_cli("demo", "--gallery", str(demo_gallery), "--catalogue", str(tmp_path / "c"), "--json",
                  "--queries", "cat", "espresso")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert Path(data["searches"]["cat"][0]["path"]).name == "chelsea-the-cat.png"
    assert Path(data["searches"]["espresso"][0]["path"]).name == "coffee.png"
