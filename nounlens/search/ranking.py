"""Ranking search results and labels: the one place that re-scores what the text-space index proposes.
Engine.search, Engine.label and the quality evaluation (trainer.quality) all call it; search goes
through `rerank` with a `Ranking` (DEFAULT unless the evaluation tries others).

1. Hierarchy: photo and noun meet through the backbone's 1,000 ImageNet classes.

A ConSE vector blurs a photo's class probabilities into one point of the text space, and ranking by
its cosine loses two things the probabilities still know:
- A noun that is an ImageNet class or an ancestor of some ("dog", "fruit", "vehicle") can be scored
  exactly: the photo's probability mass under the noun's WordNet subtree. Such a query is "exact".
- Any other noun ("okapi") should score a photo by how probable the classes *nearest the noun* are,
  not by the cosine to a mixture dominated by whatever the photo's top class is.

Both are one formula, an "effective cosine": with p_c the photo's class probabilities and s_c the
noun's cosine to class c (set to 1 for classes under the noun's subtree),
    score = 1 + tau * log(sum_c p_c * exp((s_c - 1) / tau)),
a probability-weighted soft maximum of the class cosines. It stays on the cosine scale (a photo
certain to be class c scores cos(noun, c)), so thresholds keep their meaning. Search mixes it into the
ConSE cosine, an exact query much (its evidence is exact), a zero-shot one less: the classes nearest
"wheelchair" are rocking and folding chairs, and a photo certain to be one of those is not a
wheelchair. Labels mix it in a little (LABEL_MIX at LABEL_TAU), since alone it would name only
ImageNet classes, which for a zero-shot photo are wrong by definition.

2. Look-alikes: what the rest of the collection knows. Pseudo-relevance feedback for search, neighbour
smoothing for labels.

A zero-shot score for one photo is noisy, but a folder usually holds several photos of the same
thing, and the backbone's features (1280-d, before the classifier) know which photos look alike far
better than their blurred text-space vectors do. Both uses compare photos by those stored features,
centred on the mean of the photos at hand (so the component every photo shares does not count):
- search: photos that look like the best results move up (query expansion). Feedback amplifies
  whatever the first results are, so each of them counts by its agreement with the query's own
  evidence, exp((e - e_max) / AGREEMENT_TAU): the ConSE cosine for a zero-shot query, the hierarchy
  score for an exact one. When class evidence puts a cluster of confident look-alikes first (gerenuks
  for "okapi", chairs for "wheelchair"), the photos the query's own cosine prefers still shape the
  expansion, and the look-alikes cannot take it over.
- labels: a photo's noun scores are averaged with those of its look-alikes in the catalogue, each
  weighted by how alike they are (none when nothing looks alike: a photo alone keeps its own labels).

Every search setting below is chosen by `nounlens eval quality` by cross-validation over the Caltech
classes (trainer.quality.tuning; docs/quality.md has the held-out figures and the choice).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from nounlens.models.class_scorer import ClassScorer, effective_cosine

# search: chosen on all folds by `nounlens eval quality` (docs/quality.md); the evaluation warns when these drift
SEARCH_MIX = 0.9  # exact queries: weight of the effective cosine against the ConSE cosine
SEARCH_TAU = 0.03
ZERO_SHOT_MIX = 0.3  # every other query
ZERO_SHOT_TAU = 0.2
FEEDBACK_TOP = 10  # the best results that make the expanded query
FEEDBACK_WEIGHT = 1.0  # weight of the look-alike cosine against the score's 1
AGREEMENT_TAU = 0.05  # how sharply those results count by their agreement with the query's own evidence
PAGE_THRESHOLD = 0.50  # the page hides results below it: above it, results were right at least half the time
RERANK = 1000  # search re-scores this many candidates from the text-space index


NEIGHBOURS = 5  # labels: look-alikes a photo's labels are averaged with
NEIGHBOUR_POOL = 100  # labels: nearest photos in the text space, among which the look-alikes are found
NEIGHBOUR_FLOOR = 0.3  # labels: look-alike cosine that counts for nothing (different things sit below it)
NEIGHBOUR_WEIGHT = 2.0  # labels: weight of a perfect look-alike against the photo's own scores


def centred(features: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Rows minus the mean (theirs unless given), unit-normalised."""
    x = np.asarray(features, dtype=np.float32)
    x = x - (x.mean(axis=0) if mean is None else mean)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def agreement_weights(evidence: np.ndarray, tau: float) -> np.ndarray:
    """exp((e - max e) / tau): 1 for the result that agrees best, less for the rest (all 1 at tau=inf)."""
    e = np.asarray(evidence, dtype=np.float64)
    return np.exp((e - e.max()) / tau) if np.isfinite(tau) else np.ones(len(e))


def expand_query(scores: np.ndarray, looks: np.ndarray, top: int, weight: float,
                 evidence: np.ndarray | None = None, agreement: float = np.inf) -> np.ndarray:
    """Candidates' scores mixed with their cosine to the expanded query, the mean of the `top` best
    candidates' centred features (`looks`), each weighted by its agreement with the query's `evidence`
    (agreement_weights; equal when none): (score + weight x cosine) / (1 + weight), a weighted mean, so
    the result stays on the cosine scale that the page's threshold reads."""
    if len(scores) < 2 or weight == 0:
        return scores
    best = np.argsort(-np.asarray(scores), kind="stable")[:top]
    w = agreement_weights((scores if evidence is None else evidence)[best], agreement)
    query = (w / w.sum()).astype(np.float32) @ looks[best]
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


@dataclass(frozen=True)
class Ranking:
    """Every tunable setting of search ranking; DEFAULT holds the shipped constants above."""

    mix: float = SEARCH_MIX
    tau: float = SEARCH_TAU
    zero_shot_mix: float = ZERO_SHOT_MIX
    zero_shot_tau: float = ZERO_SHOT_TAU
    feedback_top: int = FEEDBACK_TOP
    feedback_weight: float = FEEDBACK_WEIGHT
    agreement: float = AGREEMENT_TAU


DEFAULT = Ranking()


class Candidates:
    """One query's candidates as re-ranking sees them: their ConSE cosine, stored features and, with the
    hierarchy on, class probabilities and the query's class cosines. Built once, ranked under any number
    of settings: the centred features and effective cosines are computed once."""

    def __init__(self, cos: np.ndarray, features: np.ndarray, probs: np.ndarray | None = None,
                 sims: np.ndarray | None = None, exact: bool = False):
        self.cos, self.features, self.probs, self.sims, self.exact = cos, features, probs, sims, exact
        self._effective: dict[float, np.ndarray] = {}

    @classmethod
    def of(cls, cos: np.ndarray, features: np.ndarray, vec: np.ndarray, terms: list[tuple[int | None, float]],
           scorer: ClassScorer | None = None, probs: np.ndarray | None = None) -> Candidates:
        """From a query (`vec`, made of `terms`); hierarchy-aware when given a `scorer` and the `probs`."""
        if scorer is None or probs is None:
            return cls(cos, features)
        return cls(cos, features, probs, scorer.class_sims(vec, terms), scorer.exact(terms))

    @functools.cached_property
    def looks(self) -> np.ndarray:
        return centred(self.features)

    def effective(self, tau: float) -> np.ndarray:
        if tau not in self._effective:
            self._effective[tau] = effective_cosine(self.probs, self.sims, tau)
        return self._effective[tau]

    def base(self, settings: Ranking) -> np.ndarray:
        """Scores before feedback: the ConSE cosine mixed with the effective cosine (with the hierarchy)."""
        if self.probs is None:
            return self.cos
        mix, tau = ((settings.mix, settings.tau) if self.exact else
                    (settings.zero_shot_mix, settings.zero_shot_tau))
        return (1 - mix) * self.cos + mix * self.effective(tau)


def rerank(candidates: Candidates, settings: Ranking = DEFAULT, feedback: bool = True) -> np.ndarray:
    """The ranking of a query's candidates (Engine.search and the evaluation both call it): hierarchy-aware
    when the candidates carry class probabilities; with `feedback`, helped by the look-alikes of the best
    of them, each counted by its agreement with the query's own evidence (the hierarchy score for an exact
    query, the ConSE cosine for any other)."""
    scores = candidates.base(settings)
    if feedback:
        evidence = scores if candidates.exact else candidates.cos
        scores = expand_query(scores, candidates.looks, settings.feedback_top, settings.feedback_weight,
                              evidence, settings.agreement)
    return scores
