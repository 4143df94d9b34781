"""One FAISS index (indexer/faiss_store.py): ids kept through removal, upsert and incremental adds, for
Flat, HNSW and IVF-PQ; saved and loaded (or memory-mapped) with its stamp; outgrown when too much is hidden;
searched on the CPU when faiss-gpu cannot take it."""

import copy
from types import SimpleNamespace

import faiss
import numpy as np
import pytest
from indexer_support import structured

from nounlens.indexer import faiss_store
from nounlens.indexer.faiss_choose import FLAT, HNSW, IVFPQ
from nounlens.indexer.faiss_store import VectorIndex


# ---- Flat, by hand -------------------------------------------------------------------------------------
def flat_edited() -> tuple[VectorIndex, np.ndarray]:
    """Four one-hot vectors, id 10 moved onto the fourth, id 11 removed."""
    vi = VectorIndex(4)
    vecs = np.eye(4, dtype=np.float32)
    vi.add(np.array([10, 11, 12, 13]), vecs)
    vi.upsert(np.array([10]), vecs[[3]])
    vi.remove([11])
    return vi, vecs


def test_flat_upsert_moves_an_id_and_remove_drops_one():
    vi, vecs = flat_edited()
    assert len(vi) == 3
    scores, ids = vi.search(vecs[3], 5)
    assert set(ids[0][:2]) == {10, 13} and ids.shape == (1, 3)


def test_flat_save_and_load_keep_generation_and_count(tmp_path):
    vi, _ = flat_edited()
    vi.generation = 7
    vi.save(tmp_path / "v.faiss")
    back = VectorIndex.load(tmp_path / "v.faiss")
    assert back.generation == 7 and len(back) == 3


def test_loading_a_missing_file_gives_none(tmp_path):
    assert VectorIndex.load(tmp_path / "missing.faiss") is None


# ---- HNSW and IVF-PQ: one index built per kind and budget, each test edits its own copy ----------------
@pytest.fixture(scope="module", params=[(HNSW, None), (IVFPQ, None), (IVFPQ, "1.5MB")],
                ids=["HNSW-None", "IVF-PQ-None", "IVF-PQ-1.5MB"])
def built(request):
    """The kind and budget, 6,000 vectors with their ids, and an index of the first 5,000."""
    kind, budget = request.param
    x = structured(6_000, d=32, seed=2)
    ids = np.arange(len(x), dtype=np.int64) + 100
    vi = VectorIndex.build(ids[:5_000], x[:5_000], 32, 1, kind=kind, budget=budget,
                           fetch=fetcher(dict(zip(ids.tolist(), x, strict=True))))
    return SimpleNamespace(kind=kind, budget=budget, x=x, ids=ids, vi=vi)


def fetcher(store: dict):
    """Exact vectors by id from `store` (what the catalogue gives IVF-PQ's re-rank)."""
    def fetch(want):
        have = [i for i in want.tolist() if i in store]
        return np.array(have, np.int64), np.array([store[i] for i in have], np.float32).reshape(len(have), 32)
    return fetch


def edited(built, upto: str = "add") -> tuple[VectorIndex, SimpleNamespace]:
    """A copy of the built index after the scenario's steps up to `upto`: "remove" the first 50 ids,
    "upsert" one photo moved onto another vector under its id, "add" 100 more. Also returns the ids
    `gone` and `moved`."""
    x, ids = built.x, built.ids
    store = dict(zip(ids.tolist(), x, strict=True))
    vi = VectorIndex(built.vi.dim, built.vi.generation, faiss.clone_index(built.vi.index), copy.deepcopy(built.vi.info))
    vi.fetch = fetcher(store)
    gone = ids[:50]
    vi.remove(gone)
    for i in gone.tolist():
        del store[i]
    moved = ids[60]
    if upto in ("upsert", "add"):
        store[int(moved)] = x[5_500]
        vi.upsert(np.array([moved]), x[[5_500]])  # a changed photo keeps its id
    if upto == "add":
        vi.add(ids[5_000:5_100], x[5_000:5_100])  # incremental add
        store.update(zip(ids[5_000:5_100].tolist(), x[5_000:5_100], strict=True))
    return vi, SimpleNamespace(gone=gone, moved=moved)


def saved_and_loaded(built, tmp_path) -> tuple[VectorIndex, VectorIndex, VectorIndex]:
    """The edited index at generation 9, saved; read back, and memory-mapped as a read-only search process does."""
    vi, _ = edited(built)
    vi.generation = 9
    vi.save(tmp_path / "v.faiss")
    back = VectorIndex.load(tmp_path / "v.faiss")
    back.fetch = vi.fetch
    mapped = VectorIndex.load(tmp_path / "v.faiss", mmap=True)  # what a read-only search process does
    mapped.fetch = vi.fetch
    return vi, back, mapped


def test_refine_source_follows_the_kind_and_budget(built):
    kind, budget, vi = built.kind, built.budget, built.vi
    assert vi.refine == (None if kind == HNSW else "catalogue" if budget else "fp16")


def test_removed_vectors_are_hidden_and_counted(built):
    vi, _ = edited(built, "remove")
    assert len(vi) == 4_950 and vi.dead == 50


def test_removed_ids_never_come_back(built):
    x = built.x
    vi, e = edited(built, "remove")
    gone = e.gone
    _, found = vi.search(x[:50], 10)
    assert not set(found.ravel().tolist()) & set(gone.tolist())  # removed ids never come back


def test_upsert_keeps_a_changed_photos_id(built):
    x = built.x
    vi, e = edited(built, "upsert")
    moved = e.moved
    assert vi.search(x[5_500], 1)[1][0, 0] == moved and len(vi) == 4_950


def test_incremental_add_finds_the_new_vectors(built):
    x, ids = built.x, built.ids
    vi, _ = edited(built, "add")
    assert (vi.search(x[5_000:5_100], 1)[1][:, 0] == ids[5_000:5_100]).mean() >= 0.95


def test_load_keeps_kind_generation_count_and_hidden_removals(built, tmp_path):
    kind = built.kind
    _, back, _ = saved_and_loaded(built, tmp_path)
    assert (back.kind, back.generation, len(back), back.dead) == (kind, 9, 5_050, 51)


def test_load_keeps_the_tuned_setting_and_its_recall(built, tmp_path):
    vi, back, _ = saved_and_loaded(built, tmp_path)
    assert back.info["search"] == vi.info["search"] and back.info["recall"] == vi.info["recall"]


def test_loaded_index_answers_as_the_saved_one(built, tmp_path):
    x = built.x
    vi, back, _ = saved_and_loaded(built, tmp_path)
    assert np.array_equal(back.search(x[:200], 5)[1], vi.search(x[:200], 5)[1])


def test_mapped_index_answers_as_the_saved_one(built, tmp_path):
    x = built.x
    vi, _, mapped = saved_and_loaded(built, tmp_path)
    assert np.array_equal(mapped.search(x[:200], 5)[1], vi.search(x[:200], 5)[1])


def test_adding_to_a_loaded_or_mapped_index_copies_the_mapped_one_first(built, tmp_path):
    x, ids = built.x, built.ids
    _, back, mapped = saved_and_loaded(built, tmp_path)
    back.add(ids[5_100:], x[5_100:])
    mapped.add(ids[5_100:], x[5_100:])  # copied into memory first: FAISS cannot grow a mapped file
    assert back.search(x[-1], 1)[1][0, 0] == ids[-1] == mapped.search(x[-1], 1)[1][0, 0] and not mapped.mapped


def test_an_index_that_still_suits_is_not_outgrown(built, tmp_path):
    x, ids = built.x, built.ids
    _, back, _ = saved_and_loaded(built, tmp_path)
    back.add(ids[5_100:], x[5_100:])
    assert back.outgrown(len(back)) is None


def test_too_many_hidden_removals_call_for_a_rebuild(built, tmp_path):
    x, ids = built.x, built.ids
    _, back, _ = saved_and_loaded(built, tmp_path)
    back.add(ids[5_100:], x[5_100:])
    back.remove(ids[100:2_000])  # past MAX_DEAD hidden: time to rebuild
    assert back.outgrown(len(back)) == "rebuild"


# ---- a memory-mapped Flat index ------------------------------------------------------------------------
def mapped_flat(tmp_path) -> tuple[VectorIndex, np.ndarray]:
    x = structured(500, d=16)
    vi = VectorIndex.build(np.arange(500), x, 16, 3)
    vi.save(tmp_path / "f.faiss")
    return VectorIndex.load(tmp_path / "f.faiss", mmap=True), x


def test_a_flat_index_loads_memory_mapped(tmp_path):
    mapped, x = mapped_flat(tmp_path)
    assert mapped.kind == FLAT and mapped.mapped and mapped.search(x[7], 1)[1][0, 0] == 7


def test_a_mapped_flat_index_is_copied_before_it_changes(tmp_path):
    mapped, x = mapped_flat(tmp_path)
    mapped.remove([7])
    mapped.add(np.array([900]), x[[7]])
    assert mapped.search(x[7], 1)[1][0, 0] == 900 and len(mapped) == 500 and not mapped.mapped


def test_changing_a_mapped_index_leaves_its_file_untouched(tmp_path):
    mapped, x = mapped_flat(tmp_path)
    mapped.remove([7])
    mapped.add(np.array([900]), x[[7]])
    assert VectorIndex.load(tmp_path / "f.faiss").search(x[7], 1)[1][0, 0] == 7  # the file is untouched


# ---- a GPU that faiss reports but cannot use -------------------------------------------------------------
def gpu_that_cannot_clone(monkeypatch) -> tuple[VectorIndex, np.ndarray]:
    """Where faiss reports a GPU but cannot move the index there."""
    x = structured(300, d=16)
    vi = VectorIndex.build(np.arange(300), x, 16, 1)
    monkeypatch.setattr(faiss_store, "gpu_count", lambda: 1)
    monkeypatch.setattr(faiss_store.faiss, "index_cpu_to_gpu",
                        lambda *a: (_ for _ in ()).throw(RuntimeError("no GPU")), raising=False)
    monkeypatch.setattr(faiss_store, "gpu_resources", lambda: None)
    return vi, x


def test_searches_stay_right_on_the_cpu_when_faiss_cannot_use_the_gpu(monkeypatch):
    vi, x = gpu_that_cannot_clone(monkeypatch)
    assert vi.search(x[5], 1)[1][0, 0] == 5
    vi.add(np.array([999]), x[[5]])
    assert set(vi.search(x[5], 2)[1][0]) == {5, 999}


def test_falling_back_to_the_cpu_is_said_once(monkeypatch, capsys):
    vi, x = gpu_that_cannot_clone(monkeypatch)
    vi.search(x[5], 1)
    vi.add(np.array([999]), x[[5]])
    vi.search(x[5], 2)
    assert capsys.readouterr().err.count("FAISS on CPU") == 1
