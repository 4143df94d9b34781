"""Each photo's stored evidence (models.photo_evidence): computed when it is embedded or re-embedded,
and for a catalogue written before it existed, filled in from the stored features on the first write
(`nounlens index`, a writable Engine.open), with a progress bar."""

from __future__ import annotations

import functools
import sys

import numpy as np
from tqdm import tqdm

from nounlens.data.wordnet import load_wordnet
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.writer_lock import CatalogueBusy, WriterLock
from nounlens.models.class_scorer import ClassScorer
from nounlens.models.embed import ModelStack
from nounlens.models.photo_evidence import Evidence

BATCH = 64  # photos per label-scoring product: (64 + classes) x 82,115 float32 stays under 100 MB


@functools.lru_cache(maxsize=4)
def scorer_for(models: ModelStack) -> ClassScorer:
    """The scorer that Engine uses for result nouns (the default ClassScorer over the stack's nouns)."""
    return ClassScorer(models.nouns, load_wordnet())


def packed(models: ModelStack, features: np.ndarray, vecs: np.ndarray) -> list[bytes]:
    """Evidence for photos given their backbone features and unit vectors, one packed value each."""
    out: list[bytes] = []
    for s in range(0, len(features), BATCH):
        probs = models.backbone.class_probs(np.asarray(features[s:s + BATCH], dtype=np.float32))
        out += Evidence.compute(scorer_for(models), probs, vecs[s:s + BATCH]).pack()
    return out


def fill_missing(cat: Catalogue, models: ModelStack, progress: bool = True, chunk: int = 1024) -> int:
    """Compute and store the evidence that photos lack, from their stored features and vectors, in
    transactions of `chunk` photos (an interrupted upgrade keeps what it wrote). The caller holds the
    writer lock. Returns how many photos it filled."""
    missing = cat.missing_evidence()
    if not len(missing):
        return 0
    bar = tqdm(total=len(missing), unit="photo", desc="storing top nouns", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    done = 0
    try:
        for s in range(0, len(missing), chunk):
            ids, features = cat.features(missing[s:s + chunk])
            vid, vecs = cat.vectors(ids)
            keep = np.isin(ids, vid)
            ids, features = ids[keep], features[keep]
            if len(ids):
                cat.put_evidence(ids, packed(models, features, vecs))
            done += len(ids)
            bar.update(len(missing[s:s + chunk]))
    finally:
        bar.close()
    return done


def upgrade(cat: Catalogue, models: ModelStack) -> None:
    """A writable open stores the evidence an older catalogue lacks (indexer.evidence), unless another
    process is writing it: that writer's `index` fills it in."""
    try:
        with WriterLock(cat.path, wait=False):
            fill_missing(cat, models)  # scans the keys once, and returns at once when nothing is missing
    except CatalogueBusy:
        pass
