"""Files that check themselves: a cut-short data.mdb is one line, not SIGBUS; damaged bytes in
vectors.faiss mean a rebuild (saved), never a silent use; a missing vectors.faiss is saved by the first
search that rebuilds it, or that search says why not; a lost manifest.json is made again from LMDB, or is
one line naming the fix."""

import json
import os

import lmdb
import numpy as np
import pytest
from indexer_support import lock_holder, nounlens

from nounlens import Engine
from nounlens.data.errors import NounlensError
from nounlens.indexer.faiss_store import VectorIndex
from nounlens.indexer.faiss_sync import FAISS_FILE


def cut_short(cat, fraction: float) -> None:
    db = cat / "db" / "data.mdb"
    os.truncate(db, int(db.stat().st_size * fraction))


@pytest.mark.parametrize("verb", [["info"], ["search", "cat"], ["index", "--reembed"]])
def test_a_cut_short_database_is_one_line_naming_the_file(fresh_copy, verb):
    cut_short(fresh_copy, 0.5)
    out = nounlens(*verb, "--catalogue", str(fresh_copy))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "data.mdb" in out.stderr


def test_an_emptied_database_is_an_error_not_an_empty_catalogue(fresh_copy):
    cut_short(fresh_copy, 0)
    with pytest.raises(NounlensError, match="data.mdb"):
        Engine.open(fresh_copy)


def damage_faiss(cat) -> None:
    """16 KB of random bytes over the middle of vectors.faiss (the file keeps its size)."""
    path = cat / FAISS_FILE
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2 - 8192)
        f.write(np.random.default_rng(0).bytes(16384))


def own_neighbours(cat) -> float:
    """The share of photos that a search engine opened on `cat` finds first by their own vector."""
    engine = Engine.open(cat)
    try:
        ids, vecs = engine.catalogue.vectors()
        _, found = engine.vector_index().search(vecs, 1)
        return float(np.mean(found[:, 0] == ids))
    finally:
        engine.catalogue.close()


def test_damaged_faiss_bytes_are_never_used_by_a_search(fresh_copy):
    damage_faiss(fresh_copy)
    assert own_neighbours(fresh_copy) == 1.0


def test_the_rebuild_of_a_damaged_faiss_file_is_saved(fresh_copy):
    damage_faiss(fresh_copy)
    own_neighbours(fresh_copy)
    assert VectorIndex.read(fresh_copy / FAISS_FILE, full_check=True)[1] is None


def test_the_first_search_saves_a_missing_faiss_file(fresh_copy):
    (fresh_copy / FAISS_FILE).unlink()
    out = nounlens("search", "cat", "-k", "1", "--catalogue", str(fresh_copy))
    assert out.returncode == 0 and VectorIndex.read(fresh_copy / FAISS_FILE, full_check=True)[1] is None


def test_a_search_that_may_not_save_its_rebuild_says_why(fresh_copy):
    (fresh_copy / FAISS_FILE).unlink()
    holder = lock_holder(fresh_copy)
    try:
        out = nounlens("search", "cat", "-k", "1", "--catalogue", str(fresh_copy))
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode == 0 and f"not saved: PID {holder.pid} is indexing" in out.stderr


def test_a_lost_manifest_is_made_again_with_its_models(fresh_copy, indexed):
    (fresh_copy / "manifest.json").unlink()
    engine = Engine.open(fresh_copy)
    try:
        assert engine.catalogue.manifest["models"] == json.loads((indexed / "manifest.json").read_text())["models"]
    finally:
        engine.catalogue.close()


def test_index_accepts_a_catalogue_whose_manifest_was_lost(fresh_copy, demo_gallery):
    (fresh_copy / "manifest.json").unlink()
    out = nounlens("index", str(demo_gallery), "--catalogue", str(fresh_copy), "--json")
    assert out.returncode == 0, out.stderr


def forget_models(cat) -> None:
    """The manifest lost from a catalogue whose LMDB never kept a copy (one indexed before it did)."""
    (cat / "manifest.json").unlink()
    env = lmdb.open(str(cat / "db"), max_dbs=10)
    with env.begin(write=True) as txn:
        txn.delete(b"manifest", db=env.open_db(b"meta", txn=txn))
    env.close()


def test_a_lost_manifest_with_no_models_kept_is_one_line_naming_the_fix(fresh_copy):
    forget_models(fresh_copy)
    out = nounlens("search", "cat", "--catalogue", str(fresh_copy))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "nounlens index --reembed" in out.stderr


def test_the_named_fix_makes_the_catalogue_searchable_again(fresh_copy):
    forget_models(fresh_copy)
    assert nounlens("index", "--reembed", "--catalogue", str(fresh_copy)).returncode == 0
    out = nounlens("search", "cat", "-k", "1", "--catalogue", str(fresh_copy))
    assert out.returncode == 0 and "chelsea" in out.stdout
