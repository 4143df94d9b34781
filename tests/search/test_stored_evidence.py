"""Search reads each photo's stored evidence (top nouns, class probabilities) instead of computing it per
result; the answers must be the ones the old computation gives."""

from __future__ import annotations

import pytest

QUERIES = ["cat", "coffee", "dog", "okapi", "crane%wading bird", "2*cat + coffee - rocket", "a cup of coffee",
           "vehicle"]


def both(engine, run):
    """(with stored evidence, computed on the fly) results of `run(engine)`."""
    try:
        engine.stored = True
        a = run(engine)
        engine.stored = False
        b = run(engine)
    finally:
        engine.stored = True
    return a, b


def same(a, b) -> None:
    assert [r.id for r in a] == [r.id for r in b]
    assert [r.score for r in a] == pytest.approx([r.score for r in b], abs=1e-3)
    assert [[n["wnid"] for n in r.nouns] for r in a] == [[n["wnid"] for n in r.nouns] for r in b]


@pytest.mark.parametrize("query", QUERIES)
def test_search_gives_the_same_results_with_and_without_stored_evidence(demo_engine, query):
    same(*both(demo_engine, lambda e: e.search(query, k=20)))


def test_similar_gives_the_same_results_with_and_without_stored_evidence(demo_engine, demo_gallery):
    same(*both(demo_engine, lambda e: e.similar(demo_gallery / "coffee.png", k=10)))


def test_plain_cosine_search_ignores_the_stored_nouns(demo_engine):
    plain = demo_engine.search("cat", k=5, hierarchy=False, feedback=False)
    _, vecs = demo_engine.catalogue.vectors([r.id for r in plain])
    assert [r.nouns for r in plain] == demo_engine.top_nouns(vecs, 3)
