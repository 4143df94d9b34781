"""The catalogue's FAISS index kept in step with LMDB, the source of truth. Search opens it here: the
saved file (or the index a process already holds) caught up from the catalogue's change log, else
rebuilt from the stored vectors; a writer also rebuilds or re-tunes an index the catalogue has outgrown
and saves it, which lets the change log it covers go."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

import numpy as np

from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_store import MAX_DEAD, VectorIndex
from nounlens.indexer.faiss_tune import TUNE_QUERIES
from nounlens.indexer.writer_lock import active_writer
from nounlens.models.embed import ModelStack

FAISS_FILE = "vectors.faiss"
Queries = dict | Callable[[], dict] | None  # {"text": vectors} to tune on, or a function returning it
NO_IDS = np.zeros(0, np.int64)


def load_vectors(cat: Catalogue, save: bool = True, dim: int | None = None, current: VectorIndex | None = None,
                 budget: int | str | None = None, queries: Queries = None, progress: bool = False) -> VectorIndex:
    """The FAISS index at the catalogue's generation: `current` (or else the saved file, once its bytes
    match their checksum) brought up to date from the catalogue's change log, or rebuilt from the LMDB
    vectors (kind chosen and tuned afresh) when that is not possible. A process that may write also
    rebuilds or re-tunes an index the catalogue has outgrown, and saves what it changed; any other process
    saves a rebuild when no indexer is at work, so the next search need not rebuild again.
    `queries`: {"text": vectors} (or a function returning it) to tune on besides held-out catalogue vectors."""
    start = current.generation if current is not None else None
    index = current if current is not None and catch_up(cat, current) else None
    why = None
    if index is None:
        saved, why = VectorIndex.read(cat.path / FAISS_FILE, mmap=cat.readonly)  # a reader maps; a writer reads
        start = saved.generation if saved is not None else None
        index = saved if saved is not None and catch_up(cat, saved) else None
        why = why or (None if index is not None else f"{FAISS_FILE} is older than the change log reaches")
    writable = save and not cat.readonly
    changed = index is None or index.generation != start
    if index is None:
        index = build_vectors(cat, dim, budget, queries, progress)
        if not writable:
            save_rebuilt(cat, index, why)
    elif writable:
        index, retuned = maintain(cat, index, budget, queries, progress)
        changed = changed or retuned
    index.fetch = cat.vectors
    if writable and changed:
        save_vectors(cat, index)
    return index


def save_rebuilt(cat: Catalogue, index: VectorIndex, why: str | None) -> None:
    """A search rebuilt FAISS (`why`: the file was missing, damaged or too old): save it unless an indexer
    is at work (it saves its own), or say in one line why it was not saved. The change log is kept."""
    writer = active_writer(cat.path)
    if writer is not None and writer != os.getpid():
        reason = f"PID {writer} is indexing the catalogue and will save it"
    else:
        reason = save_vectors(cat, index, prune=False)
    if reason:
        print(f"nounlens: {why or FAISS_FILE + ' was rebuilt'}: rebuilt for this process, not saved: {reason}",
              file=sys.stderr)


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


def save_vectors(cat: Catalogue, index: VectorIndex, prune: bool = True) -> str | None:
    """Save, and drop the change log it covers (`prune`, writers only). Best effort: a failed save (a full
    disk; faiss raises RuntimeError where Python would raise OSError) leaves no temp file and only costs a
    catch-up later; it returns why, in one line (None when saved)."""
    try:
        index.save(cat.path / FAISS_FILE)
    except (OSError, RuntimeError) as e:
        return first_line(e)
    if prune and not cat.readonly:
        cat.prune_changes(index.generation)
    return None


def advance(cat: Catalogue, index: VectorIndex, ids: np.ndarray = NO_IDS, vectors: np.ndarray | None = None,
            gone: Iterable[int] = (), budget: int | str | None = None, queries: Queries = None) -> VectorIndex:
    """The index after this process wrote `ids` (with `vectors`) and removed `gone` in one transaction,
    `cat.written`. It takes that generation only from the one before; when another writer wrote in
    between, its changes come from the change log (never stamped as seen without being applied), or the
    index is rebuilt."""
    index.remove(gone)
    if len(ids):
        index.upsert(ids, vectors)
    if index.generation == cat.written - 1:
        index.generation = cat.written
        return index
    if catch_up(cat, index):
        return index
    return build_vectors(cat, index.dim, budget or index.info.get("budget"), queries)


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    if isinstance(e, OSError) and e.strerror:
        text = e.strerror + (f": {e.filename}" if e.filename else "")
    return text.splitlines()[0] if text else type(e).__name__


def tuning_queries(models: ModelStack, n: int = TUNE_QUERIES, seed: int = 0) -> dict:
    """Text queries to tune on: noun vectors (what `search` looks up), a fixed random sample."""
    nouns = models.nouns
    rows = np.flatnonzero(nouns.covered)
    rows = np.random.default_rng(seed).choice(rows, min(n, len(rows)), replace=False)
    return {"text": np.asarray(nouns.matrix[rows], dtype=np.float32)}
