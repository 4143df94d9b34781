"""Ranking search results and labels: the one place that re-scores what the text-space index proposes.
Engine.search, Engine.label and the quality evaluation (trainer.quality) all call it.

1. Hierarchy: photo and noun meet through the backbone's 1,000 ImageNet classes.

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

2. Look-alikes: what the rest of the collection knows. Pseudo-relevance feedback for search, neighbour
smoothing for labels.

A zero-shot score for one photo is noisy: an okapi photo whose backbone guesses "zebra" ranks low for
"okapi". But a folder of photos usually holds several photos of the same thing, and the backbone's
features (1280-d, before the classifier) know which photos look alike far better than their blurred
text-space vectors do. Both uses below compare photos by those stored features, centred on the mean of
the photos at hand (so the component every photo shares does not count) and unit-normalised:
- search: the best few results are mostly right, so photos that look like them move up (average
  query expansion, as in image retrieval);
- labels: a photo's noun scores are averaged with those of its look-alikes in the catalogue, each
  weighted by how alike they are (none when nothing looks alike: a photo alone keeps its own labels).
docs/quality.md measures both; docs/hierarchy-variants.md has the sweeps the constants come from.
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

FEEDBACK_TOP = 10  # search: the best results that make the expanded query
FEEDBACK_WEIGHT = 0.5  # search: weight of the look-alike cosine against the score's 1
NEIGHBOURS = 5  # labels: look-alikes a photo's labels are averaged with
NEIGHBOUR_POOL = 100  # labels: nearest photos in the text space, among which the look-alikes are found
NEIGHBOUR_FLOOR = 0.3  # labels: look-alike cosine that counts for nothing (different things sit below it)
NEIGHBOUR_WEIGHT = 2.0  # labels: weight of a perfect look-alike against the photo's own scores


def centred(features: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Rows minus the mean (theirs unless given), unit-normalised."""
    x = np.asarray(features, dtype=np.float32)
    x = x - (x.mean(axis=0) if mean is None else mean)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def expand_query(scores: np.ndarray, features: np.ndarray, top: int = FEEDBACK_TOP,
                 weight: float = FEEDBACK_WEIGHT) -> np.ndarray:
    """Candidates' search scores mixed with their cosine to the mean of the `top` best candidates (in
    centred feature space): (score + weight x cosine) / (1 + weight), a weighted mean, so the result
    stays on the cosine scale that the UI's threshold reads."""
    if len(scores) < 2 or weight == 0:
        return scores
    looks = centred(features)
    best = np.argsort(-np.asarray(scores), kind="stable")[:top]
    query = looks[best].mean(axis=0)
    return (scores + weight * (looks @ query) / max(float(np.linalg.norm(query)), 1e-12)) / (1 + weight)


def look_alikes(own: np.ndarray, pool: np.ndarray, k: int = NEIGHBOURS,
                floor: float = NEIGHBOUR_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """(positions in `pool`, weights) of the k photos of the pool that look most like `own` (features),
    weighted 0 at cosine `floor` rising to 1 at cosine 1; centred on the pool's mean."""
    if not len(pool):
        return np.zeros(0, dtype=int), np.zeros(0, dtype=np.float32)
    mean = np.asarray(pool, dtype=np.float32).mean(axis=0)
    sims = centred(pool, mean) @ centred(own[None], mean)[0]
    best = np.argsort(-sims, kind="stable")[:k]
    return best, np.clip((sims[best] - floor) / (1 - floor), 0, None).astype(np.float32)


def smooth(own: np.ndarray, theirs: np.ndarray, weights: np.ndarray,
           strength: float = NEIGHBOUR_WEIGHT) -> np.ndarray:
    """A photo's noun scores (M,) averaged with its look-alikes' (k, M), each weighted strength x weight."""
    w = strength * np.asarray(weights, dtype=np.float32)
    keep = w > 0
    if not keep.any():
        return own
    theirs = np.asarray(theirs)[keep]
    theirs = np.where(np.isfinite(theirs), theirs, own[None])  # a noun only the photo scores keeps its own
    return (own + w[keep] @ theirs) / (1 + w[keep].sum())


def rerank(cos: np.ndarray, features: np.ndarray, vec: np.ndarray, terms: list[tuple[int | None, float]],
           scorer: ClassScorer | None = None, probs: np.ndarray | None = None, feedback: bool = True) -> np.ndarray:
    """The default ranking of a query's candidates (their ConSE cosine `cos` and stored `features`): with a
    `scorer` and the candidates' class `probs`, hierarchy-aware; with `feedback`, helped by the look-alikes
    of the best of them."""
    scores = cos
    if scorer is not None:
        scores = scorer.rank_scores(probs, scores, vec, terms)
    if feedback:
        scores = expand_query(scores, features)
    return scores
