"""The catalogue's FAISS index kept in step with LMDB (indexer/faiss_sync.py): built and saved at the
catalogue's generation, caught up from the change log, re-chosen as the catalogue grows, started again
from the saved file when the log no longer reaches back."""

from types import SimpleNamespace

import numpy as np
import pytest
from indexer_support import photo, random_photo, structured

from nounlens.indexer import faiss_choose
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_choose import FLAT, HNSW
from nounlens.indexer.faiss_store import VectorIndex
from nounlens.indexer.faiss_sync import FAISS_FILE, advance, load_vectors, save_vectors


# ---- a cache of LMDB -------------------------------------------------------------------------------------
@pytest.fixture
def cat(tmp_path):
    """A catalogue of twenty photos, closed after the test."""
    cat = Catalogue.open(tmp_path / "c", create=True)
    cat.write(add=[random_photo(f"/p/{i}.jpg", i) for i in range(20)])
    yield cat
    cat.close()


def one_generation_behind(cat: Catalogue) -> VectorIndex:
    """The index loaded again after the catalogue moved on from the saved FAISS file."""
    load_vectors(cat)
    cat.write(add=[random_photo("/p/new.jpg", 99)])  # FAISS file is now one generation behind
    return load_vectors(cat)


def test_load_vectors_builds_the_index_at_the_catalogue_generation(cat):
    index = load_vectors(cat)
    assert len(index) == 20 and index.generation == cat.generation()


def test_load_vectors_saves_the_index_it_built(cat, tmp_path):
    load_vectors(cat)
    assert VectorIndex.load(tmp_path / "c" / FAISS_FILE).generation == 1


def test_a_saved_index_older_than_lmdb_is_brought_up_to_date(cat):
    fresh = one_generation_behind(cat)
    assert len(fresh) == 21 and fresh.generation == 2


def test_the_updated_index_finds_each_photo_by_its_own_vector(cat):
    fresh = one_generation_behind(cat)
    ids, vecs = cat.vectors()
    scores, found = fresh.search(vecs[:3], 1)
    assert list(found[:, 0]) == list(ids[:3]) and np.allclose(scores[:, 0], 1, atol=1e-5)


# ---- a catalogue that grows through the size classes -------------------------------------------------------
STAGES = ("small", "edited", "grown", "removed", "pruned")


@pytest.fixture
def story(tmp_path, monkeypatch):
    """`story(stage)`: a catalogue and its index taken through the STAGES up to `stage`."""
    monkeypatch.setattr(faiss_choose, "MIN_CLASS", 256)  # tiny size classes, so a small catalogue crosses them
    monkeypatch.setattr(faiss_choose, "FLAT_MAX", 256 * 32)
    s = SimpleNamespace(x=structured(3_000, d=32, seed=4), cat=Catalogue.open(tmp_path / "c", create=True))

    def to(stage: str) -> SimpleNamespace:
        upto, x, cat = STAGES.index(stage), s.x, s.cat
        s.ids = list(cat.write(add=[photo(i, x[i]) for i in range(200)]))
        s.index = load_vectors(cat)
        if upto >= 1:  # writes since: an add, a replace and a removal
            s.new = list(cat.write(add=[photo(i, x[i]) for i in range(200, 240)]))
            cat.write(replace={s.ids[0]: photo(0, x[2_000])}, remove=[s.ids[1]])
            s.same = load_vectors(cat, current=s.index, save=False)
        if upto >= 2:  # growing past the size class
            cat.write(add=[photo(i, x[i]) for i in range(240, 3_000)])
            s.grown = load_vectors(cat, current=s.index)
        if upto >= 3:  # a removal after the writer saved the HNSW index
            s.stale = VectorIndex.load(tmp_path / "c" / FAISS_FILE)
            cat.write(remove=[s.new[0]])
            s.fresh = load_vectors(cat, current=s.grown)
        if upto >= 4:  # the log pruned past what a reader holds, then one more change
            cat.prune_changes(cat.generation())
            cat.write(remove=[s.new[1]])
        return s

    yield to
    s.cat.close()


def test_a_small_catalogue_gets_an_exact_index(story):
    index = story("small").index
    assert index.kind == FLAT and index.generation == 1


def test_changes_are_applied_from_the_log_to_the_index_held(story):
    s = story("edited")
    same, index, cat = s.same, s.index, s.cat
    assert same is index and index.generation == cat.generation() == 3 and len(index) == 239


def test_replacements_and_removals_from_the_log_reach_searches(story):
    s = story("edited")
    index, ids, x = s.index, s.ids, s.x
    assert index.search(x[2_000], 1)[1][0, 0] == ids[0] and ids[1] not in index.search(x[1], 5)[1][0]


def test_additions_from_the_log_reach_searches(story):
    s = story("edited")
    index, new, x = s.index, s.new, s.x
    assert index.search(x[230], 1)[1][0, 0] == new[30]


def test_growing_past_the_size_class_rechooses_and_tunes_the_index(story):
    grown = story("grown").grown
    assert grown.kind == HNSW and grown.info["recall"]["min"] >= 0.95 and len(grown) == 2_999


def test_the_writer_saves_the_rechosen_index(story, tmp_path):
    story("grown")
    assert VectorIndex.load(tmp_path / "c" / FAISS_FILE).kind == HNSW


def test_removals_reach_an_hnsw_index_through_the_log(story):
    s = story("removed")
    fresh, grown, new, x = s.fresh, s.grown, s.new, s.x
    assert fresh is grown and new[0] not in grown.search(x[200], 5)[1][0] and grown.dead == 1


def test_pruning_drops_the_log_a_stale_reader_would_need(story):
    s = story("pruned")
    cat, stale = s.cat, s.stale
    assert cat.changes_since(stale.generation) is None


def test_a_reader_behind_the_pruned_log_starts_again_from_the_saved_file(story):
    s = story("pruned")
    cat, stale, new, x = s.cat, s.stale, s.new, s.x
    reread = load_vectors(cat, current=stale, save=False)
    assert reread.generation == cat.generation() and new[1] not in reread.search(x[201], 5)[1][0]


# ---- another writer's batch between two of ours ----------------------------------------------------------
def ours_after_theirs(cat: Catalogue) -> VectorIndex:
    """Our index at the catalogue's generation; another writer adds a photo our index never saw; we add one
    and bring our index forward (faiss_sync.advance), save it (which prunes the log) and read it back."""
    index = load_vectors(cat)
    cat.write(add=[random_photo("/p/theirs.jpg", 50)])  # another writer's batch
    ours = cat.write(add=[random_photo("/p/ours.jpg", 51)])
    index = advance(cat, index, np.fromiter(ours, np.int64), np.stack([p.vector for p in ours.values()]))
    save_vectors(cat, index)
    return load_vectors(cat, save=False)


def test_another_writers_batch_between_two_of_ours_reaches_the_saved_index(cat):
    assert len(ours_after_theirs(cat)) == 22


def test_a_batch_after_ours_alone_moves_the_index_one_generation(cat):
    index = load_vectors(cat)
    ours = cat.write(add=[random_photo("/p/ours.jpg", 51)])
    index = advance(cat, index, np.fromiter(ours, np.int64), np.stack([p.vector for p in ours.values()]))
    assert index.generation == cat.generation() == 2 and len(index) == 21
