"""One writer at a time (indexer/writer_lock.py): a second indexer waits and says for whom, or with
--no-wait exits in one line; a SIGKILLed holder leaves no stale lock; searches never wait; two indexers
started together leave every photo of both folders searchable."""

import shutil

import numpy as np
import pytest
from indexer_support import lock_holder, nounlens, nounlens_started, variants

from nounlens import Engine
from nounlens.data.errors import NounlensError
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_sync import load_vectors
from nounlens.indexer.writer_lock import CatalogueBusy, WriterLock


@pytest.fixture
def holder(fresh_copy):
    """Another process holding the catalogue's writer lock until its stdin closes."""
    proc = lock_holder(fresh_copy)
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def waited(holder, fresh_copy, tmp_path, demo_gallery):
    """An `index` started while `holder` holds the lock: (its stderr up to the line saying it waits, the
    rest of its stderr after the holder let go, its exit status)."""
    photos = variants(demo_gallery, tmp_path / "more", range(1))
    proc = nounlens_started("index", str(photos), "--catalogue", str(fresh_copy), "--json")
    before = [proc.stderr.readline()]
    while "; waiting…" not in before[-1] and before[-1]:
        before.append(proc.stderr.readline())
    holder.stdin.close()
    holder.wait()
    _, after = proc.communicate(timeout=600)
    return "".join(before), after, proc.returncode


def test_a_second_indexer_says_whom_it_waits_for(waited, holder, fresh_copy):
    before, _, _ = waited
    assert f"catalogue {fresh_copy} is being indexed by PID {holder.pid}; waiting…" in before


def test_a_waiting_indexer_says_so_once_and_then_indexes(waited):
    before, after, rc = waited
    assert rc == 0 and (before + after).count("; waiting…") == 1


def test_no_wait_exits_with_one_line_naming_the_holder(holder, fresh_copy, demo_gallery):
    out = nounlens("index", str(demo_gallery), "--catalogue", str(fresh_copy), "--no-wait")
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and f"PID {holder.pid}" in out.stderr


def test_engine_index_without_waiting_is_one_line_naming_the_holder(holder, fresh_copy, demo_gallery):
    engine = Engine.open(fresh_copy, writable=True)
    try:
        with pytest.raises(NounlensError, match=f"being indexed by PID {holder.pid}"):
            engine.index([demo_gallery], progress=False, wait=False)
    finally:
        engine.catalogue.close()


def test_a_busy_catalogue_names_its_holder_for_the_page_to_show(holder, fresh_copy, demo_gallery):
    """The page's Index button tries without waiting, shows `busy` with "waiting…", then waits."""
    engine = Engine.open(fresh_copy, writable=True)
    try:
        with pytest.raises(CatalogueBusy) as caught:
            engine.index([demo_gallery], progress=False, wait=False)
        assert caught.value.busy == f"catalogue {fresh_copy} is being indexed by PID {holder.pid}"
    finally:
        engine.catalogue.close()


def test_a_sigkilled_writer_leaves_no_stale_lock(holder, fresh_copy):
    holder.kill()
    holder.wait()
    with WriterLock(fresh_copy, wait=False) as lock:
        assert lock.fd is not None


def test_searches_run_while_a_writer_holds_the_lock(holder, fresh_copy):
    out = nounlens("search", "cat", "-k", "1", "--catalogue", str(fresh_copy), timeout=300)
    assert out.returncode == 0 and "chelsea" in out.stdout


@pytest.fixture(scope="module")
def two_at_once(tmp_path_factory, demo_gallery, indexed):
    """An indexed catalogue, then two `index` runs on two more folders started together (the issue's
    `index A & index B`): the catalogue and every photo path."""
    tmp = tmp_path_factory.mktemp("two")
    cat = tmp / "cat"
    shutil.copytree(indexed, cat)
    folders = [variants(demo_gallery, tmp / name, steps) for name, steps in (("A", range(1, 4)), ("B", range(4, 7)))]
    procs = [nounlens_started("index", str(f), "--catalogue", str(cat), "--json") for f in folders]
    assert [p.wait(timeout=900) for p in procs] == [0, 0]
    paths = {str(p) for f in [demo_gallery, *folders] for p in f.iterdir()}
    return cat, paths


def test_two_indexers_at_once_keep_every_photo(two_at_once):
    cat_path, paths = two_at_once
    cat = Catalogue.open(cat_path, readonly=True)
    try:
        assert {r.path for r in cat.iter_records()} == paths
    finally:
        cat.close()


def test_two_indexers_at_once_leave_every_photo_searchable(two_at_once):
    cat_path, paths = two_at_once
    cat = Catalogue.open(cat_path, readonly=True)
    try:
        ids, vecs = cat.vectors()
        _, found = load_vectors(cat, save=False).search(vecs, 1)
        assert np.array_equal(found[:, 0], ids) and len(ids) == len(paths)
    finally:
        cat.close()


def test_the_next_writer_removes_temp_files_a_killed_one_left(fresh_copy, demo_gallery):
    left = fresh_copy / ".vectors.faiss.tmp4194303"  # a PID that is not running
    left.write_bytes(b"half an index")
    engine = Engine.open(fresh_copy, create=True)
    try:
        engine.index([demo_gallery], progress=False, workers=0)
    finally:
        engine.catalogue.close()
    assert not left.exists()
