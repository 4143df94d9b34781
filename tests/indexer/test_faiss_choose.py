"""Automatic FAISS choice: which kind for which count, dimension and budget; tuned settings reach the
recall target; HNSW and IVF-PQ keep ids, removal, incremental adds and the generation rules."""

import numpy as np
import pytest

from nounlens.indexer import vectors as V
from nounlens.indexer.catalogue import Catalogue, Photo
from nounlens.indexer.pipeline import FAISS_FILE, load_vectors
from nounlens.indexer.vectors import FLAT, HNSW, IVFPQ, VectorIndex, choose, exact_knn, parse_bytes, recall_at

GB = 2**30


def structured(n: int, d: int = 64, seed: int = 0, centres: int = 200) -> np.ndarray:
    """Unit vectors in clusters of uneven size, like photos of a few hundred kinds of thing."""
    rng = np.random.default_rng(seed)
    c = np.random.default_rng(1).standard_normal((centres, d)).astype(np.float32)
    x = c[rng.zipf(1.5, n) % centres] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def text_like(n: int, d: int = 64, seed: int = 5) -> np.ndarray:
    """Queries far from every vector: mixtures of three cluster centres."""
    rng = np.random.default_rng(seed)
    c = np.random.default_rng(1).standard_normal((200, d)).astype(np.float32)
    q = c[rng.integers(0, 200, (n, 3))].sum(1)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def test_choice_rules():
    assert parse_bytes("2GB") == 2 * GB and parse_bytes("512MB") == 512 * 2**20 and parse_bytes("1.5g") == 1.5 * GB
    with pytest.raises(ValueError):
        parse_bytes("lots")
    assert [V.size_class(n) for n in (1, 4096, 4097, 1_000_000, 1_048_577)] == [4096, 4096, 16384, 1048576, 4194304]
    # small: an exact scan (GloVe's 50-d vectors stay exact 4x longer than MiniLM's 384-d)
    assert choose(16_000, 384).kind == FLAT and choose(20_000, 384).kind == HNSW
    assert choose(60_000, 50).kind == FLAT and choose(100_000, 50).kind == HNSW
    # medium: HNSW while it fits the budget (longer for low-dimensional vectors)
    hnsw = choose(50_000, 384)
    assert hnsw.kind == HNSW and hnsw.est_bytes <= V.DEFAULT_BUDGET and hnsw.params["M"] == V.HNSW_M
    assert choose(50_000, 384, 100 * 2**20).kind == IVFPQ  # the graph would not fit
    assert choose(100_000, 384).kind == IVFPQ and choose(1_000_000, 50).kind == IVFPQ
    # large or tight: IVF-PQ, with as many PQ bytes as fit (at most d/4), re-ranked from float16 copies
    # of the vectors where those fit too, else from the catalogue's own
    large = choose(1_000_000, 384)
    assert large.kind == IVFPQ and large.params == {"nlist": 4096, "m": 96, "nbits": 8, "refine": "fp16"}
    assert choose(1_000_000, 384, 512 * 2**20).params == dict(large.params, refine="catalogue")
    tighter = choose(1_000_000, 384, 100 * 2**20)
    assert tighter.kind == IVFPQ and tighter.params["m"] < 96 and tighter.est_bytes <= 100 * 2**20
    assert 384 % tighter.params["m"] == 0
    huge = choose(5_000_000, 384)
    assert huge.kind == IVFPQ and huge.params["nlist"] == 16384 and huge.est_bytes <= V.DEFAULT_BUDGET
    assert choose(50_000, 50, kind=IVFPQ).kind == IVFPQ
    with pytest.raises(ValueError):
        choose(10, 8, kind="LSH")


@pytest.mark.parametrize("kind,budget", [(HNSW, None), (IVFPQ, None), (IVFPQ, "6MB")])
def test_tuned_setting_reaches_recall_target(kind, budget):
    x = structured(20_000, d=32)
    ids = np.arange(len(x), dtype=np.int64) * 7 + 3

    def fetch(want):
        return want, x[(want - 3) // 7]

    text = text_like(600, d=32)
    vi = VectorIndex.build(ids, x, 32, 1, kind=kind, budget=budget, queries={"text": text[:300]}, fetch=fetch)
    info = vi.info
    assert info["kind"] == kind and set(info["recall"]) == {"photo", "text", "min"}
    assert vi.refine == (None if kind == HNSW else "catalogue" if budget else "fp16")
    assert info["recall"]["min"] >= 0.95, info
    assert ("efSearch" in info["search"]) if kind == HNSW else ({"nprobe", "rerank"} <= set(info["search"]))
    # the setting holds on queries the tuning never saw
    fresh = np.concatenate([text[300:], structured(300, d=32, seed=9)])
    _, rows = exact_knn(fresh, x, 10)
    _, found = vi.search(fresh, 10)
    assert recall_at(found, ids[rows]) >= 0.93
    assert "recall@10" in V.summary_line(vi.describe())


@pytest.mark.parametrize("kind,budget", [(HNSW, None), (IVFPQ, None), (IVFPQ, "1.5MB")])
def test_remove_upsert_save_load_add(tmp_path, kind, budget):
    x = structured(6_000, d=32, seed=2)
    ids = np.arange(len(x), dtype=np.int64) + 100
    store = dict(zip(ids.tolist(), x, strict=True))

    def fetch(want):
        have = [i for i in want.tolist() if i in store]
        return np.array(have, np.int64), np.array([store[i] for i in have], np.float32).reshape(len(have), 32)

    vi = VectorIndex.build(ids[:5_000], x[:5_000], 32, 1, kind=kind, budget=budget, fetch=fetch)
    assert vi.refine == (None if kind == HNSW else "catalogue" if budget else "fp16")
    gone = ids[:50]
    vi.remove(gone)
    for i in gone.tolist():
        del store[i]
    assert len(vi) == 4_950 and vi.dead == 50
    _, found = vi.search(x[:50], 10)
    assert not set(found.ravel().tolist()) & set(gone.tolist())  # removed ids never come back
    moved = ids[60]
    store[int(moved)] = x[5_500]
    vi.upsert(np.array([moved]), x[[5_500]])  # a changed photo keeps its id
    assert vi.search(x[5_500], 1)[1][0, 0] == moved and len(vi) == 4_950
    vi.add(ids[5_000:5_100], x[5_000:5_100])  # incremental add
    store.update(zip(ids[5_000:5_100].tolist(), x[5_000:5_100], strict=True))
    assert (vi.search(x[5_000:5_100], 1)[1][:, 0] == ids[5_000:5_100]).mean() >= 0.95
    vi.generation = 9
    vi.save(tmp_path / "v.faiss")
    back = VectorIndex.load(tmp_path / "v.faiss")
    back.fetch = fetch
    assert (back.kind, back.generation, len(back), back.dead) == (kind, 9, 5_050, 51)
    assert back.info["search"] == vi.info["search"] and back.info["recall"] == vi.info["recall"]
    assert np.array_equal(back.search(x[:200], 5)[1], vi.search(x[:200], 5)[1])
    mapped = VectorIndex.load(tmp_path / "v.faiss", mmap=True)  # what a read-only search process does
    mapped.fetch = fetch
    assert np.array_equal(mapped.search(x[:200], 5)[1], vi.search(x[:200], 5)[1])
    back.add(ids[5_100:], x[5_100:])
    mapped.add(ids[5_100:], x[5_100:])  # copied into memory first: FAISS cannot grow a mapped file
    assert back.search(x[-1], 1)[1][0, 0] == ids[-1] == mapped.search(x[-1], 1)[1][0, 0] and not mapped.mapped
    assert back.outgrown(len(back)) is None
    back.remove(ids[100:2_000])  # past MAX_DEAD hidden: time to rebuild
    assert back.outgrown(len(back)) == "rebuild"


def test_mapped_flat_index_is_copied_before_it_changes(tmp_path):
    x = structured(500, d=16)
    vi = VectorIndex.build(np.arange(500), x, 16, 3)
    vi.save(tmp_path / "f.faiss")
    mapped = VectorIndex.load(tmp_path / "f.faiss", mmap=True)
    assert mapped.kind == FLAT and mapped.mapped and mapped.search(x[7], 1)[1][0, 0] == 7
    mapped.remove([7])
    mapped.add(np.array([900]), x[[7]])
    assert mapped.search(x[7], 1)[1][0, 0] == 900 and len(mapped) == 500 and not mapped.mapped
    assert VectorIndex.load(tmp_path / "f.faiss").search(x[7], 1)[1][0, 0] == 7  # the file is untouched


def photo(i: int, v: np.ndarray) -> Photo:
    return Photo(f"/p/{i}.jpg", 10 + i, 1000 + i, f"h{i}", 64, 48, np.zeros(1280), v, b"jpeg")


def test_catalogue_index_catches_up_and_is_rechosen_as_it_grows(tmp_path, monkeypatch):
    monkeypatch.setattr(V, "MIN_CLASS", 256)  # tiny size classes, so a small catalogue crosses them
    monkeypatch.setattr(V, "FLAT_MAX", 256 * 32)
    x = structured(3_000, d=32, seed=4)
    cat = Catalogue.open(tmp_path / "c", create=True)
    ids = list(cat.write(add=[photo(i, x[i]) for i in range(200)]))
    index = load_vectors(cat)
    assert index.kind == FLAT and index.generation == 1
    # writes since: an add, a replace and a removal, applied from the change log (no rebuild)
    new = list(cat.write(add=[photo(i, x[i]) for i in range(200, 240)]))
    cat.write(replace={ids[0]: photo(0, x[2_000])}, remove=[ids[1]])
    same = load_vectors(cat, current=index, save=False)
    assert same is index and index.generation == cat.generation() == 3 and len(index) == 239
    assert index.search(x[2_000], 1)[1][0, 0] == ids[0] and ids[1] not in index.search(x[1], 5)[1][0]
    assert index.search(x[230], 1)[1][0, 0] == new[30]
    # growing past the size class: the writer re-chooses (HNSW), tunes, saves, and the manifest can say so
    cat.write(add=[photo(i, x[i]) for i in range(240, 3_000)])
    grown = load_vectors(cat, current=index)
    assert grown.kind == HNSW and grown.info["recall"]["min"] >= 0.95 and len(grown) == 2_999
    assert VectorIndex.load(tmp_path / "c" / FAISS_FILE).kind == HNSW
    # removals reach the HNSW index through the log too, and a reader that fell behind the pruned log
    # starts again from the saved file
    stale = VectorIndex.load(tmp_path / "c" / FAISS_FILE)
    cat.write(remove=[new[0]])
    fresh = load_vectors(cat, current=grown)
    assert fresh is grown and new[0] not in grown.search(x[200], 5)[1][0] and grown.dead == 1
    cat.prune_changes(cat.generation())
    cat.write(remove=[new[1]])
    assert cat.changes_since(stale.generation) is None
    reread = load_vectors(cat, current=stale, save=False)
    assert reread.generation == cat.generation() and new[1] not in reread.search(x[201], 5)[1][0]
    cat.close()


def test_gpu_path_falls_back_to_cpu_when_faiss_cannot_clone(monkeypatch, capsys):
    """Where faiss reports a GPU but cannot move the index there, searches stay right, on the CPU."""
    x = structured(300, d=16)
    vi = VectorIndex.build(np.arange(300), x, 16, 1)
    monkeypatch.setattr(V, "gpu_count", lambda: 1)
    monkeypatch.setattr(V.faiss, "index_cpu_to_gpu", lambda *a: (_ for _ in ()).throw(RuntimeError("no GPU")),
                        raising=False)
    monkeypatch.setattr(V, "_gpu_resources", lambda: None)
    assert vi.search(x[5], 1)[1][0, 0] == 5
    vi.add(np.array([999]), x[[5]])
    assert set(vi.search(x[5], 2)[1][0]) == {5, 999}
    assert capsys.readouterr().err.count("FAISS on CPU") == 1
