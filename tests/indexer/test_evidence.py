"""Each photo's stored evidence (top nouns, class probabilities; models.photo_evidence): written
with the photo, equal to what search would compute, and filled in for a catalogue that lacks it."""

from __future__ import annotations

import lmdb
import numpy as np

from nounlens import Engine
from nounlens.indexer.catalogue import Catalogue, key
from nounlens.models.photo_evidence import N_CLASSES, TOP_NOUNS, Evidence


def stored(cat: Catalogue) -> tuple[np.ndarray, Evidence]:
    ids, raw = cat.evidence()
    return ids, Evidence.unpack(raw)


def drop_evidence(path) -> None:
    """Make a catalogue look written by the version before the evidence database."""
    env = lmdb.open(str(path / "db"), max_dbs=16)
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"evidence", txn=txn), delete=True)
    env.close()


def test_every_indexed_photo_has_stored_evidence(demo_engine):
    ids, ev = stored(demo_engine.catalogue)
    assert np.array_equal(ids, demo_engine.catalogue.keys("records"))
    assert ev.rows.shape == (len(ids), TOP_NOUNS) and ev.log_probs.shape == (len(ids), N_CLASSES)


def test_stored_nouns_equal_the_nouns_computed_on_the_fly(demo_engine):
    ids, ev = stored(demo_engine.catalogue)
    _, feats = demo_engine.catalogue.features(ids)
    _, vecs = demo_engine.catalogue.vectors(ids)
    fresh = demo_engine.top_nouns(vecs, TOP_NOUNS, demo_engine.class_probs(feats))
    assert [[n["wnid"] for n in row] for row in fresh] == [
        [demo_engine.wordnet.noun(int(r)).wnid for r in rows] for rows in ev.rows]
    assert np.allclose([[n["score"] for n in row] for row in fresh], ev.scores, atol=1e-4)


def test_stored_probabilities_equal_the_computed_ones_to_float16(demo_engine):
    ids, ev = stored(demo_engine.catalogue)
    _, feats = demo_engine.catalogue.features(ids)
    probs = demo_engine.class_probs(feats)
    assert np.allclose(ev.probs(), probs, rtol=2e-2, atol=1e-30)


def test_a_catalogue_without_evidence_still_searches_read_only(fresh_copy):
    drop_evidence(fresh_copy)
    engine = Engine.open(fresh_copy)
    assert len(engine.catalogue.missing_evidence()) == len(engine.catalogue)
    assert engine.search("cat", k=3)[0].nouns
    engine.catalogue.close()


def test_a_writable_open_fills_in_the_missing_evidence(fresh_copy, capsys):
    drop_evidence(fresh_copy)
    engine = Engine.open(fresh_copy, writable=True)
    assert not len(engine.catalogue.missing_evidence())
    assert "storing top nouns" in capsys.readouterr().err  # the progress bar
    engine.catalogue.close()


def test_upgraded_evidence_equals_evidence_written_at_index_time(fresh_copy, indexed):
    drop_evidence(fresh_copy)
    engine = Engine.open(fresh_copy, writable=True)
    before = Catalogue.open(indexed, readonly=True)
    (ids_a, a), (ids_b, b) = stored(engine.catalogue), stored(before)
    assert np.array_equal(ids_a, ids_b) and np.array_equal(a.rows, b.rows)
    assert np.allclose(a.probs(), b.probs(), rtol=2e-2, atol=1e-30)
    before.close()
    engine.catalogue.close()


def test_reembed_rewrites_the_evidence_of_every_photo(fresh_copy):
    engine = Engine.open(fresh_copy, writable=True)
    with engine.catalogue.env.begin(write=True) as txn:
        txn.drop(engine.catalogue.db["evidence"], delete=False)  # emptied: reembed must write it all again
    assert engine.reembed() == len(engine.catalogue)
    assert not len(engine.catalogue.missing_evidence())
    engine.catalogue.close()


def test_photos_without_evidence_search_as_photos_with_it(fresh_copy):
    engine = Engine.open(fresh_copy, writable=True)
    ids = engine.catalogue.keys("records")
    with engine.catalogue.env.begin(write=True) as txn:
        for i in ids[::2]:  # half the photos lose theirs
            txn.delete(key(int(i)), db=engine.catalogue.db["evidence"])
    half = engine.search("cat", k=10)
    engine.stored = False
    none = engine.search("cat", k=10)
    assert [r.id for r in half] == [r.id for r in none]
    assert [r.nouns[0]["wnid"] for r in half] == [r.nouns[0]["wnid"] for r in none]
    engine.catalogue.close()
