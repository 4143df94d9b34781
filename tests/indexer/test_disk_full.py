"""A full disk, for real: a 1 MiB tmpfs mounted for the test (skipped where mounting is not allowed),
filled by indexing ~240 photos into a catalogue on it. The first error is the one reported, in one
line; no temp file is left; the committed photos stay searchable; after the tmpfs is grown, a re-run
completes. FAISS's RuntimeError on a failed write is handled like an OSError."""

import json
import re
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
from indexer_support import nounlens, structured

from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_store import VectorIndex
from nounlens.indexer.faiss_sync import save_vectors


def temp_files(cat) -> list[str]:
    return [p.name for p in cat.rglob("*") if ".tmp" in p.name]


def records(cat) -> int:
    c = Catalogue.open(cat, readonly=True)
    try:
        return len(c)
    finally:
        c.close()


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory, big_gallery):
    """What happened: the run that filled the disk, what it left, a check on the full disk, a FAISS save
    tried there, then a check after a re-run on the grown tmpfs."""
    fs = tmp_path_factory.mktemp("fs")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(fs)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (it needs root)")
    try:
        cat = fs / "cat"
        s = SimpleNamespace(cat=cat, first=nounlens("index", str(big_gallery), "--catalogue", str(cat), "--json"))
        s.left, s.committed = temp_files(cat), records(cat)
        s.check_full = json.loads(nounlens("check", "--all", "--json", "--catalogue", str(cat)).stdout)
        s.save_error = save_big_index(cat)
        s.left_by_save = temp_files(cat)
        subprocess.run(["mount", "-o", "remount,size=64m", str(fs)], check=True)
        s.rerun = nounlens("index", str(big_gallery), "--catalogue", str(cat), "--json")
        s.check_after = json.loads(nounlens("check", "--all", "--json", "--catalogue", str(cat)).stdout)
        s.photos = len(list(big_gallery.iterdir()))
        yield s
    finally:
        subprocess.run(["umount", "-l", str(fs)], check=False)


def save_big_index(cat) -> str | None:
    """save_vectors of a 1.5 MB index onto the full disk: why it was not saved (faiss raises RuntimeError)."""
    c = Catalogue.open(cat, readonly=True)
    try:
        x = structured(1000, d=384)
        return save_vectors(c, VectorIndex.build(np.arange(1000), x, 384, c.generation()))
    finally:
        c.close()


def test_a_full_disk_is_one_line_saying_how_many_photos_were_committed(full_disk):
    err = full_disk.first.stderr
    m = re.fullmatch(r"nounlens: error: disk full while writing (\S+): (\d+) photos committed; free space and "
                     r"re-run\n", err)
    assert m and m.group(1) == str(full_disk.cat) and int(m.group(2)) == full_disk.committed > 0, err


def test_a_full_disk_leaves_no_temp_file(full_disk):
    assert full_disk.left == []


def test_photos_committed_before_the_disk_filled_are_all_searchable(full_disk):
    report = full_disk.check_full
    assert report["clean"] and report["lookups"] == report["photos"] == full_disk.committed


def test_a_faiss_save_on_a_full_disk_says_why_and_leaves_no_temp_file(full_disk):
    assert full_disk.save_error and full_disk.left_by_save == []


def test_a_rerun_after_freeing_space_completes(full_disk):
    report = full_disk.check_after
    assert full_disk.rerun.returncode == 0 and report["clean"] and report["lookups"] == full_disk.photos
