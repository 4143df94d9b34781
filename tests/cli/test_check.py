"""`nounlens check [--repair] [--json]` (indexer/integrity.py) on a real catalogue of the demo photos, each
test damaging a copy of it one way: one line per problem, exit status 1 while one remains, and --repair
leaving a clean catalogue with every photo found by its own vector."""

import json
import os
import shutil

import numpy as np
import pytest
from indexer_support import index_demo, nounlens

from nounlens.indexer.catalogue import Catalogue, key
from nounlens.indexer.faiss_store import VectorIndex
from nounlens.indexer.faiss_sync import FAISS_FILE, save_vectors


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, demo_gallery):
    return index_demo(demo_gallery, tmp_path_factory.mktemp("checked") / "cat")


@pytest.fixture
def cat(indexed, tmp_path):
    shutil.copytree(indexed, tmp_path / "cat")
    return tmp_path / "cat"


def check(cat, *flags):
    return nounlens("check", "--catalogue", str(cat), *flags)


def problems(cat) -> list[str]:
    out = check(cat, "--json")
    return [p["message"] for p in json.loads(out.stdout)["problems"]]


# ---- damage, as each fault of the issue leaves it ---------------------------------------------------
def lose_from_faiss(cat) -> None:
    """What two indexers at once used to leave: photos in LMDB that FAISS, stamped as up to date, lacks."""
    c = Catalogue.open(cat)
    try:
        ids, vecs = c.vectors()
        index = VectorIndex.build(ids[3:], vecs[3:], vecs.shape[1], c.generation())
        save_vectors(c, index)  # stamped at the catalogue's generation; the change log pruned
    finally:
        c.close()


def drop_a_vector(cat) -> None:
    c = Catalogue.open(cat)
    try:
        with c.env.begin(write=True) as txn:
            txn.delete(key(1), db=c.db["vectors"])
    finally:
        c.close()


def index_a_path_twice(cat) -> None:
    c = Catalogue.open(cat)
    try:
        rec = c.record(1)
        with c.env.begin(write=True) as txn:
            txn.put(key(99), json.dumps({**rec.__dict__, "id": 99}).encode(), db=c.db["records"])
            for name in ("features", "vectors", "thumbs"):
                txn.put(key(99), txn.get(key(1), db=c.db[name]), db=c.db[name])
    finally:
        c.close()


def damage_faiss(cat) -> None:
    with open(cat / FAISS_FILE, "r+b") as f:
        f.seek(4096)
        f.write(np.random.default_rng(1).bytes(4096))


def leave_temp_files(cat) -> None:
    (cat / ".vectors.faiss.tmp999999").write_bytes(b"half an index")
    (cat / ".manifest.json.tmp999998").write_text("{")


DAMAGE = {"faiss lacks photos": (lose_from_faiss, "lacks 3 of the catalogue's 18 photos"),
          "a record without its vector": (drop_a_vector, "has no vector"),
          "a path indexed twice": (index_a_path_twice, "is indexed 2 times"),
          "damaged faiss bytes": (damage_faiss, "does not match the checksum"),
          "stale temp files": (leave_temp_files, "no longer running"),
          "a lost manifest": (lambda c: (c / "manifest.json").unlink(), "manifest.json is missing")}


def test_check_finds_a_clean_catalogue_clean(cat):
    out = check(cat, "--all")
    assert out.returncode == 0 and out.stdout.strip().endswith("18 found by their own vector: clean")


@pytest.mark.parametrize("damage", DAMAGE)
def test_check_names_each_kind_of_damage(cat, damage):
    hurt, words = DAMAGE[damage]
    hurt(cat)
    assert any(words in p for p in problems(cat))


@pytest.mark.parametrize("damage", DAMAGE)
def test_check_exits_1_while_a_problem_remains(cat, damage):
    DAMAGE[damage][0](cat)
    assert check(cat).returncode == 1


def test_check_prints_one_line_per_problem_and_a_summary(cat):
    damage_faiss(cat)
    leave_temp_files(cat)
    assert len(check(cat).stdout.strip().splitlines()) == 4


@pytest.mark.parametrize("damage", DAMAGE)
def test_repair_leaves_a_clean_catalogue(cat, damage):
    DAMAGE[damage][0](cat)
    assert check(cat, "--repair").returncode == 0 and check(cat, "--all").returncode == 0


def test_repair_removes_stale_temp_files(cat):
    leave_temp_files(cat)
    check(cat, "--repair")
    assert not [p for p in os.listdir(cat) if ".tmp" in p]


def test_repair_makes_photos_lost_from_faiss_searchable(cat):
    lose_from_faiss(cat)
    check(cat, "--repair")
    out = nounlens("search", "cat", "-k", "18", "--catalogue", str(cat), "--json")
    assert len(json.loads(out.stdout)) == 18
