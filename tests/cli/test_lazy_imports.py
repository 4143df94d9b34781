"""A query process loads only what answering it needs: no torch, sentence-transformers, transformers,
Streamlit or trainer code (each a second or more of start-up), and only the named verb's parser."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import pytest

from nounlens.cli import VERBS, build_parser

HEAVY = ("torch", "sentence_transformers", "transformers", "streamlit", "nltk", "gensim", "sklearn", "umap",
         "nounlens.trainer", "nounlens.ui", "nounlens.bench")
PROBE = """import json, sys
from nounlens.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded_by(*args: str) -> set[str]:
    """The modules a `nounlens ARGS` process had loaded when it finished (it must succeed)."""
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert record["code"] == 0
    return set(record["modules"])


def heavy_in(modules: set[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]


@pytest.mark.parametrize("query", ["okapi", "a red sports car", "crane%machine", "2*dog + beach - water"])
def test_search_imports_no_torch_nor_sentence_transformers(demo_engine, query):
    modules = loaded_by("search", query, "-k", "2", "--catalogue", str(demo_engine.catalogue.path))
    assert heavy_in(modules) == []


def test_label_of_a_new_photo_imports_no_torch(demo_engine, demo_gallery, tmp_path):
    photo = tmp_path / "not-in-the-catalogue.jpg"  # so the backbone runs, through ONNX Runtime
    shutil.copyfile(demo_gallery / "rocket.jpg", photo)
    modules = loaded_by("label", str(photo), "--catalogue", str(demo_engine.catalogue.path))
    assert "onnxruntime" in modules and heavy_in(modules) == []


def verbs_of(parser) -> list[str]:
    return list(next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices)


def test_a_named_verb_builds_only_its_own_parser():
    assert verbs_of(build_parser(["search", "okapi"])) == ["search"]
    assert verbs_of(build_parser(["-h"])) == list(VERBS)  # --help before the verb: nounlens --help


@pytest.mark.parametrize("argv", [[], ["--help"], ["--version", "search"], ["no-such-verb"]])
def test_no_named_verb_builds_every_parser(argv):
    assert verbs_of(build_parser(argv)) == list(VERBS)
