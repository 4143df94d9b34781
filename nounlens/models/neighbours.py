"""What the rest of the collection knows: pseudo-relevance feedback for search, neighbour smoothing for
labels.

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

import numpy as np

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
