"""Tuning the search-time knob (HNSW's efSearch; IVF-PQ's nprobe and re-rank depth): the cheapest
setting whose recall@10 against exact search reaches the target on held-out photo and noun queries."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

import faiss
import numpy as np

from nounlens.indexer.faiss_choose import DEFAULT_TARGET, HNSW, size_class
from nounlens.indexer.faiss_device import gpu_count, gpu_resources

RECALL_K = 10
EF_STEPS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)
RERANK_STEPS = (4, 8, 16, 32)  # IVF-PQ: candidates re-ranked exactly, as multiples of k
TUNE_QUERIES = 300  # per query set
TUNE_MARGIN = 0.01  # tune to target + this (~2 standard errors of recall@10 on 300 queries), so new queries reach it


class Searchable(Protocol):
    """What tuning reads of an index (faiss_store.VectorIndex, which imports this module)."""

    info: dict
    fetch: Callable | None

    @property
    def kind(self) -> str: ...

    @property
    def refine(self) -> str | None: ...

    def search(self, queries: np.ndarray, k: int, setting: dict | None = None) -> tuple[np.ndarray, np.ndarray]: ...


def exact_knn(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k (the ground truth for tuning), on the GPU when there is one."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if gpu_count():
        return faiss.knn_gpu(gpu_resources(), q, x, k, metric=faiss.METRIC_INNER_PRODUCT)
    return faiss.knn(q, x, k, metric=faiss.METRIC_INNER_PRODUCT)


def tune_search(index: Searchable, ids: np.ndarray, vectors: np.ndarray, queries: dict | None = None,
                target: float = DEFAULT_TARGET, n_queries: int = TUNE_QUERIES) -> dict:
    """The cheapest search setting whose recall@10 against exact search reaches `target` (plus
    TUNE_MARGIN) on every query set: held-out catalogue vectors ("photo": each query's own id is left
    out of both answers) and any `queries` given ({"text": noun vectors}). Returns what the index
    records in its `info`: the setting, its recall and how it was measured."""
    t0 = time.perf_counter()
    bench = _RecallBench(ids, vectors, queries, n_queries)
    if index.kind == HNSW:
        candidates = ({"efSearch": ef} for ef in EF_STEPS)
        best = _first_reaching(index, bench, candidates, target + TUNE_MARGIN)
    else:
        best = _fastest_ivf(index, bench, target + TUNE_MARGIN)
    return dict(search=best["setting"], recall=best["recall"], target=target, tuned_n=int(len(ids)),
                n_class=size_class(len(ids)), tune_s=round(time.perf_counter() - t0, 2),
                tune_queries={name: len(qs) for name, (qs, _) in bench.sets.items()})


# ---- measuring recall ---------------------------------------------------------------------------------
class _RecallBench:
    """Query sets with their exact top-10, and recall@10 of an index setting on each."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, queries: dict | None, n: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        queries = queries() if callable(queries) else queries
        ids = np.asarray(ids, dtype=np.int64)
        rows = rng.choice(len(ids), min(n, len(ids)), replace=False)
        self.sets = {"photo": (vectors[rows], ids[rows])}  # leave-one-out: own id excluded
        for name, q in (queries or {}).items():
            q = np.asarray(q, dtype=np.float32)
            if len(q):
                self.sets[name] = (q[rng.choice(len(q), min(n, len(q)), replace=False)], None)
        self.truth = {}
        for name, (q, own) in self.sets.items():
            _, rows_found = exact_knn(q, vectors, RECALL_K + 1)
            self.truth[name] = _top(np.where(rows_found >= 0, ids[np.clip(rows_found, 0, None)], -1), own)

    def recall(self, index: Searchable, setting: dict) -> tuple[dict, float]:
        """({set: recall@10}, seconds per query)."""
        out, t, nq = {}, 0.0, 0
        for name, (q, own) in self.sets.items():
            t0 = time.perf_counter()
            _, found = index.search(q, RECALL_K + 1, setting)
            t += time.perf_counter() - t0
            nq += len(q)
            out[name] = round(recall_at(_top(found, own), self.truth[name]), 4)
        out["min"] = min(out.values())
        return out, t / max(nq, 1)


def _top(found: np.ndarray, own: np.ndarray | None) -> np.ndarray:
    """The first RECALL_K ids of each row, without the query's own id."""
    if own is None:
        return found[:, :RECALL_K]
    out = np.full((len(found), RECALL_K), -1, np.int64)
    for r, (row, me) in enumerate(zip(found, own, strict=True)):
        keep = row[row != me][:RECALL_K]
        out[r, :len(keep)] = keep
    return out


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each row's true ids that were found (ids -1 never count)."""
    hits = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, int((t >= 0).sum()))
            for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


# ---- searching the settings ---------------------------------------------------------------------------
def _first_reaching(index: Searchable, bench: _RecallBench, settings: Iterable[dict], target: float) -> dict:
    best = None
    for setting in settings:
        recall, secs = bench.recall(index, setting)
        best = {"setting": setting, "recall": recall, "s_per_query": secs}
        if recall["min"] >= target:
            break
    return best


def _fastest_ivf(index: Searchable, bench: _RecallBench, target: float) -> dict:
    """For each re-rank depth, the smallest nprobe reaching target; the fastest of those wins
    (or, when none reaches it, the best recall)."""
    nlist = index.info["params"]["nlist"]
    probes = [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if p <= nlist]
    results = []
    for factor in RERANK_STEPS if index.fetch is not None or index.refine == "fp16" else (1,):
        last = -1.0
        for nprobe in probes:
            setting = {"nprobe": nprobe, "rerank": factor}
            recall, secs = bench.recall(index, setting)
            results.append({"setting": setting, "recall": recall, "s_per_query": secs})
            if recall["min"] >= target or recall["min"] < last + 0.002:  # reached, or no longer improving
                break
            last = recall["min"]
    reaching = [r for r in results if r["recall"]["min"] >= target]
    if reaching:
        return min(reaching, key=lambda r: r["s_per_query"])
    return max(results, key=lambda r: r["recall"]["min"])
