import numpy as np
import pytest

from nounlens.data.errors import NounlensError
from nounlens.indexer.catalogue import Catalogue, Photo
from nounlens.indexer.pipeline import FAISS_FILE, load_vectors
from nounlens.indexer.vectors import VectorIndex


def photo(path: str, seed: int, d: int = 8) -> Photo:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=d).astype(np.float32)
    return Photo(path, 10 + seed, 1000 + seed, f"h{seed}", 64, 48, rng.normal(size=1280), v / np.linalg.norm(v),
                 b"jpeg%d" % seed)


def test_write_read_remove_and_generation(tmp_path):
    cat = Catalogue.open(tmp_path / "c", create=True)
    assert cat.generation() == 0 and len(cat) == 0
    ids = list(cat.write(add=[photo("/p/a.jpg", 1), photo("/p/b.jpg", 2)]))
    assert cat.generation() == 1 and len(cat) == 2
    a = cat.record(ids[0])
    assert a.path == "/p/a.jpg" and a.hash == "h1" and cat.id_for_path("/p/b.jpg") == ids[1]
    assert cat.thumb(ids[1]) == b"jpeg2"
    got_ids, vecs = cat.vectors()
    assert list(got_ids) == ids and vecs.shape == (2, 8) and np.allclose(np.linalg.norm(vecs, axis=1), 1)
    assert cat.features([ids[0]])[1].dtype == np.float16
    cat.write(replace={ids[0]: photo("/p/a.jpg", 3)}, touch={ids[1]: (99, 12345)})
    assert cat.record(ids[0]).hash == "h3" and cat.record(ids[1]).mtime_ns == 12345
    cat.write(remove=[ids[0]])
    assert len(cat) == 1 and cat.id_for_path("/p/a.jpg") is None and cat.thumb(ids[0]) is None
    assert cat.generation() == 3
    new = list(cat.write(add=[photo("/p/c.jpg", 4)]))
    assert new[0] not in ids  # ids are never reused
    cat.close()
    reopened = Catalogue.open(tmp_path / "c", readonly=True)
    assert len(reopened) == 2 and reopened.generation() == 4


def test_missing_or_foreign_catalogue_is_a_clear_error(tmp_path):
    with pytest.raises(NounlensError, match="no catalogue"):
        Catalogue.open(tmp_path / "nothing")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(NounlensError, match="not empty"):
        Catalogue.open(tmp_path / "busy", create=True)


def test_faiss_is_a_cache_rebuilt_when_older_than_lmdb(tmp_path):
    cat = Catalogue.open(tmp_path / "c", create=True)
    cat.write(add=[photo(f"/p/{i}.jpg", i) for i in range(20)])
    index = load_vectors(cat)
    assert len(index) == 20 and index.generation == cat.generation()
    assert VectorIndex.load(tmp_path / "c" / FAISS_FILE).generation == 1
    cat.write(add=[photo("/p/new.jpg", 99)])  # FAISS file is now one generation behind
    fresh = load_vectors(cat)
    assert len(fresh) == 21 and fresh.generation == 2
    ids, vecs = cat.vectors()
    scores, found = fresh.search(vecs[:3], 1)
    assert list(found[:, 0]) == list(ids[:3]) and np.allclose(scores[:, 0], 1, atol=1e-5)


def test_vector_index_upsert_remove_save_load(tmp_path):
    vi = VectorIndex(4)
    vecs = np.eye(4, dtype=np.float32)
    vi.add(np.array([10, 11, 12, 13]), vecs)
    vi.upsert(np.array([10]), vecs[[3]])
    vi.remove([11])
    assert len(vi) == 3
    scores, ids = vi.search(vecs[3], 5)
    assert set(ids[0][:2]) == {10, 13} and ids.shape == (1, 3)
    vi.generation = 7
    vi.save(tmp_path / "v.faiss")
    back = VectorIndex.load(tmp_path / "v.faiss")
    assert back.generation == 7 and len(back) == 3
    assert VectorIndex.load(tmp_path / "missing.faiss") is None
