"""Hierarchy-aware scores: photo and noun meet through the backbone's 1,000 ImageNet classes.

A ConSE vector blurs a photo's class probabilities into one point of the text space, and ranking by
its cosine loses two things the probabilities still know:
- A noun that is an ImageNet class or an ancestor of some ("dog", "fruit", "vehicle") can be scored
  exactly: the photo's probability mass under the noun's WordNet subtree.
- Any other noun ("okapi") should score a photo by how probable the classes *nearest the noun* are,
  not by the cosine to a mixture dominated by whatever the photo's top class is.

Both are one formula, an "effective cosine": with p_c the photo's class probabilities and s_c the
noun's cosine to class c (set to 1 for classes under the noun's subtree),
    score = 1 + tau * log(sum_c p_c * exp((s_c - 1) / tau)),
a probability-weighted soft maximum of the class cosines. It stays on the cosine scale (a photo
certain to be class c scores cos(noun, c)), so thresholds keep their meaning. Both search and labels
mix it into the ConSE cosine: search mostly (SEARCH_MIX at SEARCH_TAU), labels a little (LABEL_MIX at
LABEL_TAU), since alone it would name only ImageNet classes, which for a zero-shot photo are wrong by
definition. docs/quality.md measures every choice here.
"""

from __future__ import annotations

import functools

import numpy as np

from nounlens.data.wordnet import WordNet, imagenet_rows
from nounlens.models.text import NounVectors

SEARCH_TAU = 0.06
SEARCH_MIX = 0.8
LABEL_TAU = 0.2
LABEL_MIX = 0.3
LABEL_CLASSES = 5  # a photo's top classes that labelling looks at (the rest carry almost no mass)
RERANK = 1000  # search re-scores this many candidates from the text-space index


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


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

    def rank_scores(self, probs: np.ndarray, cos: np.ndarray, vec: np.ndarray,
                    terms: list[tuple[int | None, float]] = ()) -> np.ndarray:
        """(N,) search scores of photos for one query (`vec`, made of `terms`), given the photos' class
        probabilities and their ConSE cosine to the query."""
        return (1 - SEARCH_MIX) * cos + SEARCH_MIX * effective_cosine(probs, self.class_sims(vec, terms), SEARCH_TAU)

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
