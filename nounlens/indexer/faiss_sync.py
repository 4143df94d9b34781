"""The catalogue's FAISS index kept in step with LMDB, the source of truth. Search opens it here: the
saved file (or the index a process already holds) caught up from the catalogue's change log, else
rebuilt from the stored vectors; a writer also rebuilds or re-tunes an index the catalogue has outgrown
and saves it, which lets the change log it covers go."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_store import MAX_DEAD, VectorIndex
from nounlens.indexer.faiss_tune import TUNE_QUERIES
from nounlens.models.embed import ModelStack

FAISS_FILE = "vectors.faiss"
Queries = dict | Callable[[], dict] | None  # {"text": vectors} to tune on, or a function returning it


def load_vectors(cat: Catalogue, save: bool = True, dim: int | None = None, current: VectorIndex | None = None,
                 budget: int | str | None = None, queries: Queries = None, progress: bool = False) -> VectorIndex:
    """The FAISS index at the catalogue's generation: `current` (or else the saved file) brought up to
    date from the catalogue's change log, or rebuilt from the LMDB vectors (kind chosen and tuned
    afresh) when that is not possible. A process that may write also rebuilds or re-tunes an index the
    catalogue has outgrown, and saves what it changed. `queries`: {"text": vectors} (or a function
    returning it) to tune on besides held-out catalogue vectors."""
    start = current.generation if current is not None else None
    index = current if current is not None and catch_up(cat, current) else None
    if index is None:
        saved = VectorIndex.load(cat.path / FAISS_FILE, mmap=cat.readonly)  # a reader maps; a writer reads
        start = saved.generation if saved is not None else None
        index = saved if saved is not None and catch_up(cat, saved) else None
    writable = save and not cat.readonly
    changed = index is None or index.generation != start
    if index is None:
        index = build_vectors(cat, dim, budget, queries, progress)
    elif writable:
        index, retuned = maintain(cat, index, budget, queries, progress)
        changed = changed or retuned
    index.fetch = cat.vectors
    if writable and changed:
        save_vectors(cat, index)
    return index


def catch_up(cat: Catalogue, index: VectorIndex) -> bool:
    """Apply the catalogue's changes since the index's generation; False when a rebuild is due instead
    (the log does not reach back, the vectors changed dimension, or too much changed)."""
    if index.generation == cat.generation():
        return True
    log = cat.changes_since(index.generation)
    if log is None:
        return False
    gen, ids, vecs, gone = log
    if (len(ids) and vecs.shape[1] != index.dim) or (
            index.kind != "Flat" and len(ids) + len(gone) > MAX_DEAD * max(len(index), 1)):
        return False
    index.remove(gone)
    index.upsert(ids, vecs)
    index.generation = gen
    return True


def build_vectors(cat: Catalogue, dim: int | None = None, budget: int | str | None = None, queries: Queries = None,
                  progress: bool = False) -> VectorIndex:
    """A fresh index from a snapshot of the catalogue's vectors: kind chosen, trained, tuned."""
    gen, ids, vecs = cat.snapshot_vectors()
    dim = vecs.shape[1] if len(ids) else dim or int(cat.manifest.get("dim") or 0) or 1
    budget = budget or (cat.manifest.get("faiss") or {}).get("budget")
    return VectorIndex.build(ids, vecs, dim, gen, budget=budget, queries=queries, fetch=cat.vectors,
                             progress=progress)


def maintain(cat: Catalogue, index: VectorIndex, budget: int | str | None = None, queries: Queries = None,
             progress: bool = False) -> tuple[VectorIndex, bool]:
    """Rebuild or re-tune an index that the catalogue has outgrown (next size class, another kind
    under the budget, too many removed vectors hidden); (index, whether it changed)."""
    why = index.outgrown(len(index), budget)
    if why == "rebuild":
        return build_vectors(cat, index.dim, budget or index.info.get("budget"), queries, progress), True
    if why == "retune":
        _, ids, vecs = cat.snapshot_vectors()
        index.tune(ids, vecs, queries, index.info.get("target") or 0.95)
        return index, True
    return index, False


def save_vectors(cat: Catalogue, index: VectorIndex) -> None:
    """Save (best effort: a failed save only costs a catch-up later) and drop the change log it covers."""
    try:
        index.save(cat.path / FAISS_FILE)
    except OSError:
        return
    if not cat.readonly:
        cat.prune_changes(index.generation)


def tuning_queries(models: ModelStack, n: int = TUNE_QUERIES, seed: int = 0) -> dict:
    """Text queries to tune on: noun vectors (what `search` looks up), a fixed random sample."""
    nouns = models.nouns
    rows = np.flatnonzero(nouns.covered)
    rows = np.random.default_rng(seed).choice(rows, min(n, len(rows)), replace=False)
    return {"text": np.asarray(nouns.matrix[rows], dtype=np.float32)}
