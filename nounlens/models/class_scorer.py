"""Scoring photos against nouns through the backbone's 1,000 ImageNet classes (the "effective cosine";
search.ranking explains it). It lives below the indexer so that the indexer can store each photo's top
nouns at index time with exactly the code that search and labels use."""

from __future__ import annotations

import functools

import numpy as np

from nounlens.data.wordnet import WordNet, imagenet_rows
from nounlens.models.text import NounVectors

LABEL_TAU = 0.2
LABEL_MIX = 0.3
LABEL_CLASSES = 5  # a photo's top classes that labelling looks at (the rest carry almost no mass)


def effective_cosine(probs: np.ndarray, sims: np.ndarray, tau: float) -> np.ndarray:
    """1 + tau * log(probs @ exp((sims - 1) / tau)); probs (N, C), sims (C,) or (C, M)."""
    mixed = probs @ np.exp((np.asarray(sims, dtype=np.float32) - 1.0) / tau)
    return 1.0 + tau * np.log(np.maximum(mixed, 1e-30))


class ClassScorer:
    """Scores photos (given their ImageNet-1k probabilities) against nouns. `subtree=False` turns the
    exact subtree term off in search, leaving the soft class kernel alone; `label_subtree` turns it on
    in labels, where it is off by default: it names more nouns within 2 hops of the truth, but fewer
    exact ones (docs/quality.md)."""

    def __init__(self, nouns: NounVectors, wordnet: WordNet, subtree: bool = True, label_subtree: bool = False):
        self.nouns, self.wordnet, self.subtree, self.label_subtree = nouns, wordnet, subtree, label_subtree
        self.class_rows = imagenet_rows()
        self.class_vectors = np.ascontiguousarray(nouns.matrix[self.class_rows], dtype=np.float32)

    @functools.cached_property
    def _class_ancestors(self) -> tuple[np.ndarray, np.ndarray]:
        """Incidence of classes (rows) and the nouns at or above them (columns), and those nouns' rows."""
        per_class = [self.wordnet.ancestors(int(r)) | {int(r)} for r in self.class_rows]
        above = np.array(sorted(set().union(*per_class)))
        col = {int(r): j for j, r in enumerate(above)}
        incidence = np.zeros((len(per_class), len(above)), dtype=bool)
        for i, rows in enumerate(per_class):
            incidence[i, [col[r] for r in rows]] = True
        return incidence, above

    def under(self, row: int) -> np.ndarray:
        """(1000,) bool: the classes in the noun's WordNet subtree (none for most nouns)."""
        incidence, above = self._class_ancestors
        j = np.searchsorted(above, row)
        if j < len(above) and above[j] == row:
            return incidence[:, j].copy()
        return np.zeros(len(self.class_rows), dtype=bool)

    def class_sims(self, vec: np.ndarray, terms: list[tuple[int | None, float]] = ()) -> np.ndarray:
        """A query's cosine to each class, with the classes under each positive noun term set to 1."""
        sims = self.class_vectors @ np.asarray(vec, dtype=np.float32)
        if self.subtree:
            for row, weight in terms:
                if row is not None and weight > 0:
                    sims[self.under(row)] = 1.0
        return sims

    def exact(self, terms: list[tuple[int | None, float]]) -> bool:
        """Whether a query's class evidence is exact: a positive noun term at or above ImageNet classes."""
        return self.subtree and any(row is not None and weight > 0 and self.under(row).any() for row, weight in terms)

    def label_scores(self, probs: np.ndarray, vecs: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """(N, nouns) scores of every noun (or of `rows`) for each photo: the ConSE cosine mixed with the
        effective cosine over the photos' top classes (with the classes' ancestors exact when `label_subtree`)."""
        rows = np.arange(len(self.nouns.covered)) if rows is None else np.asarray(rows)
        matrix = self.nouns.matrix if len(rows) == len(self.nouns.covered) else self.nouns.matrix[rows]
        own = np.argpartition(-probs, LABEL_CLASSES - 1, axis=1)[:, :LABEL_CLASSES]
        kept = np.zeros_like(probs)
        np.put_along_axis(kept, own, np.take_along_axis(probs, own, axis=1), axis=1)
        top = np.unique(own)  # the classes any photo of the batch needs
        # one product for photos and classes: the noun matrix (126 MB) is read once, not twice
        both = np.vstack([np.asarray(vecs, dtype=np.float32), self.class_vectors[top]]) @ matrix.T
        cos, sims = both[:len(vecs)], both[len(vecs):]
        if self.label_subtree:
            incidence, above = self._class_ancestors
            j = np.minimum(np.searchsorted(above, rows), len(above) - 1)
            cols = np.flatnonzero(above[j] == rows)  # output columns whose noun is at or above a class
            sims[:, cols] = np.where(incidence[np.ix_(top, j[cols])], 1.0, sims[:, cols])
        p = kept[:, top] / kept.sum(axis=1, keepdims=True)
        out = (1 - LABEL_MIX) * cos + LABEL_MIX * effective_cosine(p, sims, LABEL_TAU)
        out[:, ~self.nouns.covered[rows]] = -np.inf
        return out
