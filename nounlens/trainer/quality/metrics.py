"""Evaluation metrics: labelling (flat, lenient and hierarchical hit@k) and retrieval (precision@k, AP).

Pure numpy on scores and label indices; what a label *is* (an ImageNet class, a WordNet noun) is the
caller's business, except for the hierarchy metrics, which take the WordNet graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def true_ranks(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """0-based rank of each row's true label among its scores. Ties are broken by label index, as
    top_k breaks them, so a rank and a top-k list always agree (GloVe gives every sense of a word the
    same vector, so ties are common there)."""
    scores = np.asarray(scores, dtype=np.float64)
    rows = np.arange(len(truth))
    true_scores = scores[rows, truth][:, None]
    ahead = (scores > true_scores).sum(axis=1)
    before = np.arange(scores.shape[1])[None, :] < np.asarray(truth)[:, None]
    return ahead + ((scores == true_scores) & before).sum(axis=1)


def hit_at_k(ranks: np.ndarray, ks: Iterable[int]) -> dict[int, float]:
    """Flat hit@k: the fraction of rows whose true label is among the top k."""
    ranks = np.asarray(ranks)
    return {k: float((ranks < k).mean()) if len(ranks) else 0.0 for k in ks}


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """(N, k) label indices, best first; equal scores in label-index order."""
    scores = np.asarray(scores)
    k = min(k, scores.shape[1])
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
    out = np.empty((len(scores), k), dtype=np.int64)
    for i, row in enumerate(scores):
        cand = np.flatnonzero(row >= kth[i])
        out[i] = cand[np.lexsort((cand, -row[cand]))][:k]
    return out


def hit_at_k_sets(top: np.ndarray, correct: Sequence[set[int]], ks: Iterable[int]) -> dict[int, float]:
    """hit@k where any label in a row's `correct` set counts (e.g. nouns within 2 WordNet hops)."""
    return {k: float(np.mean([bool(correct[i] & set(top[i, :k].tolist())) for i in range(len(top))]))
            if len(top) else 0.0 for k in ks}


def hierarchical_correct_set(wordnet, row: int, k: int, candidates: set[int] | None = None) -> set[int]:
    """Frome et al. 2013, sec. 4: the true label plus every label within radius R hops of it in the
    hierarchy (hypernym and hyponym edges), R grown from 0 until the set holds at least k labels."""
    radius, found = 0, {row}
    while True:
        within = wordnet.within_hops(row, radius)
        found = within if candidates is None else within & candidates
        found.add(row)
        if len(found) >= k or radius > 30:
            return found
        radius += 1


def hierarchical_precision_at_k(top: np.ndarray, truth_rows: Sequence[int], wordnet, ks: Iterable[int],
                                candidates: set[int] | None = None, label_rows: np.ndarray | None = None
                                ) -> dict[int, float]:
    """hP@k: the fraction of the top k predictions that fall in the true label's correct set for k,
    averaged over photos. `top` holds label indices; `label_rows` maps them to WordNet rows (None:
    they are rows already). hP@1 equals flat hit@1."""
    out = {}
    cache: dict[tuple[int, int], set[int]] = {}
    for k in ks:
        total = 0.0
        for i, truth in enumerate(truth_rows):
            key = (int(truth), k)
            if key not in cache:
                cache[key] = hierarchical_correct_set(wordnet, int(truth), k, candidates)
            predicted = top[i, :k] if label_rows is None else label_rows[top[i, :k]]
            total += sum(int(p) in cache[key] for p in predicted) / k
        out[k] = total / len(truth_rows) if len(truth_rows) else 0.0
    return out


def precision_at_k(relevant: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of the k best-scored items that are relevant."""
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float(np.asarray(relevant, dtype=bool)[order].sum() / k)


def average_precision(relevant: np.ndarray, scores: np.ndarray) -> float:
    """Non-interpolated AP: the mean, over relevant items, of the precision at each one's rank."""
    relevant = np.asarray(relevant, dtype=bool)
    if not relevant.any():
        return 0.0
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = relevant[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def retrieval(relevant: np.ndarray, scores: np.ndarray, ks: Iterable[int] = (5, 10)) -> dict[str, float]:
    """Per query: precision@k for each k and AP."""
    out = {f"p@{k}": precision_at_k(relevant, scores, k) for k in ks}
    out["ap"] = average_precision(relevant, scores)
    return out
