"""Inputs the CLI refuses in one line instead of misreading them (issue 21): k out of range or not a whole
number, a FIFO given as a photo; and a file name that is not UTF-8, printed rather than failing the list."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_photos

from nounlens.data.limits import MAX_K


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nounlens", *args], capture_output=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})


def usage_error(out: subprocess.CompletedProcess) -> str:
    """argparse's refusal: exit 2, one `error:` line (pointing at --help) and nothing else."""
    err = out.stderr.decode()
    assert out.returncode == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and "error:" in err and "--help" in err, err
    return err.strip()


@pytest.mark.parametrize("verb", [["search", "dog"], ["similar", "x.jpg"], ["label", "x.jpg"], ["nouns", "dog"]])
@pytest.mark.parametrize("k", ["-1", "0"])
def test_k_below_one_is_refused(verb, k):
    assert f"k must be from 1 to {MAX_K:,}" in usage_error(run_cli(*verb, "-k", k))


@pytest.mark.parametrize("verb", [["label", "x.jpg"], ["nouns", "dog"], ["search", "dog"]])
def test_k_beyond_the_bound_is_refused_not_kth_out_of_bounds(verb):
    assert "not 1,000,000,000" in usage_error(run_cli(*verb, "-k", "1000000000"))


@pytest.mark.parametrize("k", ["2.5", "ten", "1e3"])
def test_k_that_is_not_a_whole_number_is_refused(k):
    assert "whole number" in usage_error(run_cli("search", "dog", "-k", k))


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> tuple[Path, Path]:
    """(catalogue, gallery): two real photos, the coffee one named with a byte that is not UTF-8."""
    from nounlens.search.engine import Engine

    root = tmp_path_factory.mktemp("inputs")
    gallery = root / "gallery"
    copy_photos(["chelsea.png"], gallery)
    shutil.copyfile(copy_photos(["coffee.png"], root / "src")[0], os.fsencode(gallery) + b"/caf\xe9.png")
    engine = Engine.open(root / "catalogue", create=True)
    assert engine.index([gallery], workers=0, progress=False).added == 2
    engine.catalogue.close()
    return root / "catalogue", gallery


def test_label_of_a_fifo_is_refused_not_waited_on(catalogue, tmp_path):
    fifo = tmp_path / "fifo.jpg"
    os.mkfifo(fifo)
    out = run_cli("label", str(fifo), "--catalogue", str(catalogue[0]))  # timeout=300: a hang fails
    err = out.stderr.decode()
    assert out.returncode == 1 and "not a regular file: a FIFO" in err and len(err.strip().splitlines()) == 1


def test_non_utf8_path_prints_as_its_bytes_under_a_utf8_locale(catalogue):
    out = run_cli("search", "espresso", "-k", "1", "--catalogue", str(catalogue[0]), env={"PYTHONIOENCODING": "utf-8"})
    assert out.returncode == 0, out.stderr.decode()
    assert os.fsencode(catalogue[1]) + b"/caf\xe9.png" in out.stdout  # the real name, to paste back
