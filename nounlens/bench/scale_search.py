"""Stage (c) of `nounlens bench`: search latency, throughput and recall@10 of the catalogue's own FAISS index
against exact search and the baseline, scikit-learn's brute-force NearestNeighbors."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from nounlens.bench.report import latencies, loadavg, ratio
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_sync import load_vectors
from nounlens.indexer.faiss_tune import exact_knn, recall_at

K = 10


def _single(fn, queries: np.ndarray, runs: int) -> dict:
    """Queries one at a time: per run p50/p99 latency and queries/s; the medians over runs."""
    per = [np.array(latencies(lambda q: fn(q[None]), queries)) for _ in range(runs)]
    return {"n": len(queries), "runs": runs,
            "p50_ms": round(statistics.median(float(np.percentile(p, 50)) for p in per) * 1e3, 3),
            "p99_ms": round(statistics.median(float(np.percentile(p, 99)) for p in per) * 1e3, 3),
            "qps": round(statistics.median(len(p) / p.sum() for p in per), 1)}


def _batch(fn, queries: np.ndarray, runs: int) -> dict:
    secs = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(queries)
        secs.append(time.perf_counter() - t)
    s = statistics.median(secs)
    return {"n": len(queries), "runs": runs, "seconds": round(s, 4), "qps": round(len(queries) / s, 1),
            "ms_per_query": round(s / len(queries) * 1e3, 4)}


def search_bench(path: Path, queries: dict[str, np.ndarray], runs: int = 3, sklearn_single: int = 20,
                 progress: bool = True) -> dict:
    """The catalogue's own FAISS index (as a search process loads it) against exact search and sklearn."""
    from sklearn.neighbors import NearestNeighbors

    cat = Catalogue.open(path, readonly=True)
    try:
        index = load_vectors(cat, save=False)
        _, ids, vectors = cat.snapshot_vectors()
        allq = np.concatenate(list(queries.values()))
        recall = {}
        for name, q in queries.items():
            _, rows = exact_knn(q, vectors, K)
            _, found = index.search(q, K)
            recall[name] = round(recall_at(found, ids[rows]), 4)
        recall["min"] = min(recall.values())
        ours = {"single": _single(lambda q: index.search(q, K), allq, runs),
                "batch": _batch(lambda q: index.search(q, K), allq, max(runs, 5))}
        nn = NearestNeighbors(n_neighbors=K, metric="cosine", algorithm="brute").fit(vectors)
        _, sk_rows = nn.kneighbors(allq)
        _, exact_rows = exact_knn(allq, vectors, K)
        sk = {"single": _single(lambda q: nn.kneighbors(q), allq[:sklearn_single], 1),
              "batch": _batch(lambda q: nn.kneighbors(q), allq, max(1, runs - 1)),
              "recall": round(recall_at(sk_rows, exact_rows), 4)}
        out = {"n": len(ids), "dim": vectors.shape[1], "faiss": index.describe(), "recall": recall, "ours": ours,
               "sklearn": sk, "queries": {k: len(v) for k, v in queries.items()},
               "speedup": {"single": ratio(ours["single"]["qps"], sk["single"]["qps"]),
                           "batch": ratio(ours["batch"]["qps"], sk["batch"]["qps"])},
               "loadavg": loadavg()}
    finally:
        cat.close()
    return out
