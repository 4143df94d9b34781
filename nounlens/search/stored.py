"""Reading the evidence the indexer stored per photo (models.photo_evidence) for Engine's searches: class
probabilities for re-ranking and the top nouns a result shows, with the old computation as the fallback
for a photo that lacks it (a catalogue from before, opened read-only) or when `use` is off (the bench's
baseline)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nounlens.data.wordnet import WordNet
from nounlens.indexer.catalogue import Catalogue
from nounlens.models.photo_evidence import N_CLASSES, NBYTES, Evidence, top_rows


def stored(cat: Catalogue, ids: Sequence[int], use: bool = True) -> tuple[np.ndarray, Evidence | None]:
    """(mask over `ids` of those with stored evidence, their Evidence in the same order)."""
    have = np.zeros(len(ids), dtype=bool)
    if not use or not len(ids):
        return have, None
    got, raw = cat.evidence(ids)
    if not len(got) or raw.shape[1] != NBYTES:  # none, or a layout this version does not read
        return have, None
    return np.isin(np.asarray(ids, dtype=np.int64), got), Evidence.unpack(raw)


def class_probs(cat: Catalogue, compute: Callable[[np.ndarray], np.ndarray], ids: Sequence[int],
                features: np.ndarray | None = None, use: bool = True) -> np.ndarray:
    """(len(ids), 1000) class probabilities: stored where they are, else `compute`d from the features
    (given, in the order of `ids`, or read)."""
    have, ev = stored(cat, ids, use)
    probs = np.empty((len(ids), N_CLASSES), dtype=np.float32)
    if ev is not None:
        probs[have] = ev.probs()
    lack = np.flatnonzero(~have)
    if len(lack):
        if features is None:
            _, features = cat.features([ids[j] for j in lack])
        else:
            features = features[lack]
        probs[lack] = compute(np.asarray(features, dtype=np.float32))
    return probs


def chips(wordnet: WordNet, rows: np.ndarray, scores: np.ndarray) -> list[list[dict]]:
    """Noun dicts (wnid, name, gloss, score) per photo from their rows and scores."""
    return [[wordnet.noun(int(r)).as_dict(s) for r, s in zip(rr, ss, strict=True)]
            for rr, ss in zip(rows, scores, strict=True)]


def top_chips(wordnet: WordNet, scores: np.ndarray, k: int) -> list[list[dict]]:
    """The k best nouns per photo from (photos, nouns) scores."""
    return chips(wordnet, *top_rows(scores, k))


def result_nouns(cat: Catalogue, wordnet: WordNet, ids: Sequence[int], probs: np.ndarray | None,
                 compute: Callable[[np.ndarray, np.ndarray | None], list[list[dict]]],
                 use: bool = True) -> list[list[dict] | None]:
    """Each result's top nouns: stored where they are (hierarchy-aware ones only, so only when `probs`
    are given), else `compute(vectors, probs)`; None for a photo whose vector has gone meanwhile."""
    have, ev = stored(cat, ids, use and probs is not None)
    out: list[list[dict] | None] = [None] * len(ids)
    if ev is not None:
        for j, nouns in zip(np.flatnonzero(have), chips(wordnet, ev.rows, ev.scores), strict=True):
            out[j] = nouns
    lack = np.flatnonzero(~have)
    if len(lack):
        found, vecs = cat.vectors([ids[j] for j in lack])
        lack = lack[np.isin([ids[j] for j in lack], found)]
        if len(lack):
            for j, nouns in zip(lack, compute(vecs, None if probs is None else probs[lack]), strict=True):
                out[j] = nouns
    return out
