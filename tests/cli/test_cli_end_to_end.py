"""The real CLI as a user runs it (`python -m nounlens`), on the photos scikit-image ships."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "nounlens", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_search_json_gives_absolute_paths_and_scores(demo_engine):
    out = run_cli("search", "cat", "-k", "3", "--json", "--catalogue", str(demo_engine.catalogue.path))
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert Path(results[0]["path"]).is_absolute() and "score" in results[0]
    assert Path(results[0]["path"]).name == "chelsea-the-cat.png"


def test_label_json_gives_nouns_with_glosses(demo_engine, demo_gallery):
    out = run_cli("label", str(demo_gallery / "coffee.png"), "--json", "--catalogue", str(demo_engine.catalogue.path))
    assert {"wnid", "name", "gloss", "score"} <= set(json.loads(out.stdout)[0])


def test_nouns_json_puts_the_word_itself_first(demo_engine):
    out = run_cli("nouns", "okapi", "-k", "3", "--json", "--catalogue", str(demo_engine.catalogue.path))
    assert json.loads(out.stdout)[0]["name"] == "okapi"


def test_info_json_counts_photos_and_names_the_pil(demo_engine, demo_gallery):
    out = run_cli("info", "--json", "--catalogue", str(demo_engine.catalogue.path))
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


def test_cli_missing_catalogue_is_one_line(tmp_path):
    out = run_cli("search", "dog", "--catalogue", str(tmp_path / "none"))
    assert out.returncode == 1 and "no catalogue" in out.stderr and "Traceback" not in out.stderr


def test_cli_index_with_another_encoder_asks_for_reembed(tmp_path, demo_engine):
    out = run_cli("index", str(tmp_path), "--encoder", "glove", "--catalogue", str(demo_engine.catalogue.path))
    assert out.returncode == 1 and "reembed" in out.stderr


def test_demo_command_runs_on_a_given_gallery(tmp_path, demo_gallery):
    out = run_cli("demo", "--gallery", str(demo_gallery), "--catalogue", str(tmp_path / "c"), "--json",
                  "--queries", "cat", "espresso")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert Path(data["searches"]["cat"][0]["path"]).name == "chelsea-the-cat.png"
    assert Path(data["searches"]["espresso"][0]["path"]).name == "coffee.png"
