"""The tuned search setting (indexer/faiss_tune.py): recall@10 against exact search reaches the target on
held-out photo and noun queries, and holds on queries the tuning never saw. One index is built per kind
and budget and shared by the tests of this module, which only read it."""

from types import SimpleNamespace

import numpy as np
import pytest
from indexer_support import structured, text_like

from nounlens.indexer.faiss_choose import HNSW, IVFPQ, summary_line
from nounlens.indexer.faiss_store import VectorIndex
from nounlens.indexer.faiss_tune import exact_knn, recall_at

KINDS = [(HNSW, None), (IVFPQ, None), (IVFPQ, "6MB")]


@pytest.fixture(scope="module", params=KINDS, ids=["HNSW-None", "IVF-PQ-None", "IVF-PQ-6MB"])
def tuned(request):
    """The kind and budget, the vectors and their ids, noun-like queries, and the index built and tuned on
    the first 300 of those queries."""
    kind, budget = request.param
    x = structured(20_000, d=32)
    ids = np.arange(len(x), dtype=np.int64) * 7 + 3

    def fetch(want):
        return want, x[(want - 3) // 7]

    text = text_like(600, d=32)
    vi = VectorIndex.build(ids, x, 32, 1, kind=kind, budget=budget, queries={"text": text[:300]}, fetch=fetch)
    return SimpleNamespace(kind=kind, budget=budget, x=x, ids=ids, text=text, vi=vi)


def test_recall_is_measured_on_photo_and_text_queries(tuned):
    kind, info = tuned.kind, tuned.vi.info
    assert info["kind"] == kind and set(info["recall"]) == {"photo", "text", "min"}


def test_refine_source_follows_the_kind_and_budget(tuned):
    kind, budget, vi = tuned.kind, tuned.budget, tuned.vi
    assert vi.refine == (None if kind == HNSW else "catalogue" if budget else "fp16")


def test_tuned_setting_reaches_the_recall_target(tuned):
    info = tuned.vi.info
    assert info["recall"]["min"] >= 0.95, info


def test_tuned_setting_is_the_kinds_search_knob(tuned):
    kind, info = tuned.kind, tuned.vi.info
    assert ("efSearch" in info["search"]) if kind == HNSW else ({"nprobe", "rerank"} <= set(info["search"]))


def test_tuned_setting_holds_on_queries_the_tuning_never_saw(tuned):
    x, ids, text, vi = tuned.x, tuned.ids, tuned.text, tuned.vi
    fresh = np.concatenate([text[300:], structured(300, d=32, seed=9)])
    _, rows = exact_knn(fresh, x, 10)
    _, found = vi.search(fresh, 10)
    assert recall_at(found, ids[rows]) >= 0.93


def test_summary_line_shows_the_measured_recall(tuned):
    vi = tuned.vi
    assert "recall@10" in summary_line(vi.describe())
