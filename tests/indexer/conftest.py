"""Fixtures of the indexer tests: a gallery of a few hundred real photos, and an indexed catalogue that
tests copy and damage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from indexer_support import index_demo, variants


@pytest.fixture(scope="session")
def big_gallery(tmp_path_factory, demo_gallery) -> Path:
    """~240 real photos (the demo photos, varied by crop and flip so each has its own bytes)."""
    return variants(demo_gallery, tmp_path_factory.mktemp("big"), range(14))


@pytest.fixture(scope="session")
def indexed(tmp_path_factory, demo_gallery) -> Path:
    """A catalogue of the demo photos, indexed once; tests damage copies of it (`fresh_copy`)."""
    return index_demo(demo_gallery, tmp_path_factory.mktemp("indexed") / "cat")


@pytest.fixture
def fresh_copy(indexed, tmp_path) -> Path:
    """A copy of the indexed catalogue, this test's to damage."""
    shutil.copytree(indexed, tmp_path / "cat")
    return tmp_path / "cat"
