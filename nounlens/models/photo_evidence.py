"""A photo's compact evidence, computed once at index time and stored in the catalogue so that a search
does no per-result work over all 82,115 nouns or the 1,000 classes: its top nouns (the hierarchy-aware
label scores, without look-alike smoothing, which depends on the rest of the catalogue) and its top
ImageNet-1k class probabilities.

Stored probabilities: all 1,000, as float16 natural logs (2 KB a photo). Only the top 20 were tried
first, the rest of the mass spread evenly: that moved scores by up to 0.39 on the demo photos and 0.15
on the Caltech gallery and changed the top 20 of "dog" and "vehicle", because the effective cosine of an
exact query at tau 0.03 reads the small probabilities of the classes under the noun, which are outside a
photo's top 20 for every photo that is not one. float16 logs keep every probability to 1.6% down to
1e-38, which moves a score by at most tau x 0.008 (docs/ARCHITECTURE.md has the measured differences)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nounlens.models.class_scorer import ClassScorer

TOP_NOUNS = 3  # the noun chips a search result shows
N_CLASSES = 1000  # ImageNet-1k
_LAYOUT = [("rows", np.int32, TOP_NOUNS), ("scores", np.float32, TOP_NOUNS), ("log_probs", np.float16, N_CLASSES)]
NBYTES = sum(np.dtype(t).itemsize * n for _, t, n in _LAYOUT)


def top_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores), each (N, k): the k best columns of every row of `scores`, best first."""
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return top, np.take_along_axis(scores, top, axis=1)


@dataclass
class Evidence:
    """N photos' stored evidence: top noun rows and scores, class log-probabilities."""

    rows: np.ndarray  # (N, TOP_NOUNS) int32
    scores: np.ndarray  # (N, TOP_NOUNS) float32
    log_probs: np.ndarray  # (N, N_CLASSES) float16

    @classmethod
    def compute(cls, scorer: ClassScorer, probs: np.ndarray, vecs: np.ndarray) -> Evidence:
        """From full class probabilities and unit vectors (what Engine shows as a result's nouns)."""
        rows, scores = top_rows(scorer.label_scores(probs, vecs), TOP_NOUNS)
        logs = np.log(np.maximum(np.asarray(probs, dtype=np.float32), 1e-38))
        return cls(rows.astype(np.int32), scores.astype(np.float32), logs.astype(np.float16))

    def pack(self) -> list[bytes]:
        """One value per photo, for the catalogue."""
        parts = [np.ascontiguousarray(getattr(self, name), dtype=t) for name, t, _ in _LAYOUT]
        return [b"".join(p[i].tobytes() for p in parts) for i in range(len(self.rows))]

    @classmethod
    def unpack(cls, raw: np.ndarray) -> Evidence:
        """From an (N, NBYTES) uint8 array of stored values."""
        out, at = {}, 0
        for name, t, n in _LAYOUT:
            size = np.dtype(t).itemsize * n
            out[name] = np.ascontiguousarray(raw[:, at:at + size]).view(t).reshape(len(raw), n)
            at += size
        return cls(**out)

    def probs(self) -> np.ndarray:
        """(N, N_CLASSES) float32 class probabilities."""
        return np.exp(self.log_probs.astype(np.float32))
