"""Incremental indexing: walk, diff against the catalogue, decode in worker processes, embed in
batches, write each batch as one LMDB transaction, keep FAISS in step."""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nounlens.data.images import decode_job
from nounlens.data.walk import FileEntry, Skipped, walk
from nounlens.indexer.catalogue import Catalogue, Photo, Record, now
from nounlens.indexer.vectors import MAX_DEAD, TUNE_QUERIES, VectorIndex
from nounlens.models.embed import ModelStack

FAISS_FILE = "vectors.faiss"
SAVE_EVERY_S = 60.0


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    seconds: float = 0.0
    decode_s: float = 0.0  # worker CPU seconds spent decoding, summed over workers
    model_s: float = 0.0  # main-process seconds in the backbone and embedding
    skipped_files: list[tuple[str, str]] = field(default_factory=list)

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (f"added {self.added}, updated {self.updated}, removed {self.removed}, skipped {self.skipped}, "
                f"unchanged {self.unchanged} in {self.seconds:.1f} s ({self.rate:.1f} photos/s)")

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("added", "updated", "removed", "unchanged", "skipped")}
        d.update(seconds=round(self.seconds, 3), photos_per_s=round(self.rate, 2),
                 decode_s=round(self.decode_s, 3), model_s=round(self.model_s, 3),
                 skipped_files=[{"path": p, "reason": r} for p, r in self.skipped_files])
        return d


def load_vectors(cat: Catalogue, save: bool = True, dim: int | None = None, current: VectorIndex | None = None,
                 budget: int | str | None = None, queries=None, progress: bool = False) -> VectorIndex:
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


def build_vectors(cat: Catalogue, dim: int | None = None, budget=None, queries=None,
                  progress: bool = False) -> VectorIndex:
    """A fresh index from a snapshot of the catalogue's vectors: kind chosen, trained, tuned."""
    gen, ids, vecs = cat.snapshot_vectors()
    dim = vecs.shape[1] if len(ids) else dim or int(cat.manifest.get("dim") or 0) or 1
    budget = budget or (cat.manifest.get("faiss") or {}).get("budget")
    return VectorIndex.build(ids, vecs, dim, gen, budget=budget, queries=queries, fetch=cat.vectors,
                             progress=progress)


def maintain(cat: Catalogue, index: VectorIndex, budget=None, queries=None,
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


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def index_paths(cat: Catalogue, roots: Iterable[str | Path], models: ModelStack, workers: int | None = None,
                batch_size: int = 32, progress: bool = True, log: Callable[[str], None] | None = None,
                on_progress: Callable[[int, int], None] | None = None,
                memory_budget: int | str | None = None) -> Summary:
    """Bring the catalogue in line with the photos under `roots`; other folders' records are kept.
    `on_progress(done, total)` follows the bar for callers that show their own (the UI).
    `memory_budget` (bytes or '2GB'; default: the catalogue's, else 2GB) bounds the FAISS index."""
    t0 = time.perf_counter()
    log = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    roots = [os.path.abspath(os.path.expanduser(str(r))) for r in roots]
    summary = Summary()

    def skip(path: str, reason: str) -> None:
        summary.skipped += 1
        summary.skipped_files.append((path, reason))
        log(f"skipped {path}: {reason}")

    existing = {rec.path: rec for rec in cat.iter_records() if _under(rec.path, roots)}
    todo: list[tuple[FileEntry, Record | None]] = []
    for item in walk(roots):
        if isinstance(item, Skipped):
            skip(item.path, item.reason)
            continue
        rec = existing.pop(item.path, None)
        if rec and rec.size == item.size and rec.mtime_ns == item.mtime_ns:
            summary.unchanged += 1
        else:
            todo.append((item, rec))

    describe = models.describe()
    queries = functools.partial(tuning_queries, models)
    index = load_vectors(cat, save=False, dim=models.text.dim, budget=memory_budget, queries=queries)
    if existing:  # under the roots but no longer on disk
        gone = [rec.id for rec in existing.values()]
        cat.write(remove=gone)
        index.remove(gone)
        index.generation = cat.generation()
        summary.removed = len(gone)

    stats = {e.path: (e, rec) for e, rec in todo}
    pending: list[tuple[Photo, Record | None, np.ndarray]] = []
    touch: dict[int, tuple[int, int]] = {}
    last_save = time.monotonic()

    def keep(final: bool = False) -> None:
        """Save FAISS; past a size class, rebuild or re-tune it first."""
        nonlocal index
        index, _ = maintain(cat, index, memory_budget, queries, progress=progress and final)
        save_vectors(cat, index)

    def flush() -> None:
        nonlocal last_save
        if not pending and not touch:
            return
        t = time.perf_counter()
        features, _, vecs = models.embed_pixels(np.stack([px for _, _, px in pending])) if pending else (
            None, None, None)
        summary.model_s += time.perf_counter() - t
        adds, replaces = [], {}
        for j, (photo, rec, _) in enumerate(pending):
            photo.features, photo.vector = features[j], vecs[j]
            if rec is None:
                adds.append(photo)
            else:
                replaces[rec.id] = photo
        written = cat.write(add=adds, replace=replaces, touch=touch)
        if written:
            ids = np.fromiter(written.keys(), dtype=np.int64)
            index.upsert(ids, np.stack([p.vector for p in written.values()]))
        index.generation = cat.generation()
        summary.added += len(adds)
        summary.updated += len(replaces)
        pending.clear()
        touch.clear()
        if time.monotonic() - last_save > SAVE_EVERY_S:
            keep()
            last_save = time.monotonic()

    bar = tqdm(total=len(todo), unit="photo", desc="indexing", disable=not progress or not todo,
               file=sys.stderr, dynamic_ncols=True)
    try:
        for (path, digest, decoded, error), secs in _decode_all([e.path for e, _ in todo], workers, models):
            bar.update(1)
            if on_progress:
                on_progress(bar.n, len(todo))
            summary.decode_s += secs
            entry, rec = stats[path]
            if error:
                skip(path, error)
                continue
            if rec is not None and rec.hash == digest:  # touched but same bytes: no need to re-embed
                touch[rec.id] = (entry.size, entry.mtime_ns)
                summary.unchanged += 1
            else:
                photo = Photo(path, entry.size, entry.mtime_ns, digest, decoded.width, decoded.height,
                              None, None, decoded.thumb)
                pending.append((photo, rec, decoded.pixels))
            if len(pending) >= batch_size:
                flush()
        flush()
    finally:
        bar.close()
        save_vectors(cat, index)
    keep(final=True)
    summary.seconds = time.perf_counter() - t0
    cat.update_manifest(models=describe, dim=models.text.dim, generation=cat.generation(), count=len(cat),
                        last_indexed=now(), faiss=index.describe(),
                        last_run=summary.as_dict() | {"skipped_files": summary.skipped_files[:50]})
    return summary


def _timed_decode(path: str, size: int):
    t = time.process_time()
    out = decode_job(path, size)
    return out, time.process_time() - t


DECODE_CHUNK = 4  # photos per task sent to a decoding worker


def default_workers() -> int:
    """Decoding processes beside the one that runs the model: cores - 1, at least 1, at most 4."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def decode_pool(workers: int):
    """The decoding pool, spawned (not forked): the parent holds ONNX Runtime threads."""
    return mp.get_context("spawn").Pool(workers)


def _decode_all(paths: list[str], workers: int | None, models: ModelStack):
    """Decode in worker processes while the main process runs the model; yields (result, CPU seconds)
    as they finish."""
    if not paths:
        return
    size = models.backbone.size
    workers = workers if workers is not None else default_workers()
    job = functools.partial(_timed_decode, size=size)
    if workers == 0:
        yield from map(job, paths)
        return
    with decode_pool(workers) as pool:
        yield from pool.imap_unordered(job, paths, chunksize=DECODE_CHUNK)


def reembed(cat: Catalogue, models: ModelStack, batch: int = 4096) -> int:
    """Re-project every photo from its stored features (a new head or text encoder), no photo read;
    written in one transaction so a catalogue never mixes two embeddings."""
    ids, features = cat.features()
    if len(ids):
        vecs = np.concatenate([models.embed_features(features[s:s + batch]) for s in range(0, len(ids), batch)])
        cat.replace_vectors(ids, vecs)
    index = load_vectors(cat, queries=functools.partial(tuning_queries, models))
    cat.update_manifest(models=models.describe(), dim=models.text.dim, generation=cat.generation(),
                        count=len(cat), faiss=index.describe())
    return len(ids)
