"""Incremental indexing: walk, diff against the catalogue, decode in worker processes, embed in
batches, write each batch as one LMDB transaction, keep FAISS in step."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nounlens.data.errors import NounlensError
from nounlens.data.walk import FileEntry, Skipped, walk
from nounlens.indexer.catalogue import Catalogue, Photo, Record, now
from nounlens.indexer.decode_workers import DECODE_CHUNK, decode_all, decode_pool, default_workers
from nounlens.indexer.evidence import fill_missing, packed
from nounlens.indexer.faiss_store import VectorIndex
from nounlens.indexer.faiss_sync import FAISS_FILE, advance, load_vectors, maintain, save_vectors, tuning_queries
from nounlens.indexer.manifest import models_unknown
from nounlens.indexer.write_errors import reported_write_errors
from nounlens.indexer.writer_lock import WriterLock, stale_temp_files
from nounlens.models.embed import ModelStack

__all__ = ["DECODE_CHUNK", "Summary", "decode_pool", "default_workers", "index_paths", "reembed"]

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


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _stderr_line(msg: str) -> None:
    tqdm.write(msg, file=sys.stderr)


def index_paths(cat: Catalogue, roots: Iterable[str | Path], models: ModelStack, workers: int | None = None,
                batch_size: int = 32, progress: bool = True, log: Callable[[str], None] | None = None,
                on_progress: Callable[[int, int], None] | None = None,
                memory_budget: int | str | None = None, wait: bool = True) -> Summary:
    """Bring the catalogue in line with the photos under `roots`; other folders' records are kept.
    `on_progress(done, total)` follows the bar for callers that show their own (the UI).
    `memory_budget` (bytes or '2GB'; default: the catalogue's, else 2GB) bounds the FAISS index.
    One writer at a time: another one holding the catalogue makes this wait (saying so once through
    `log`), or with `wait=False` fail in one line. A full disk is one line too (write_errors)."""
    t0 = time.perf_counter()
    log = log or _stderr_line
    with WriterLock(cat.path, wait, log):
        for f, _ in stale_temp_files(cat.path):  # a writer SIGKILLed while saving left it
            f.unlink(missing_ok=True)
        run = _Run(cat, models, log, memory_budget, progress)
        with reported_write_errors(cat.path, lambda: run.summary.embedded):
            run.all(roots, workers, batch_size, on_progress)
    summary = run.summary
    summary.seconds = time.perf_counter() - t0
    return summary


class _Run:
    """One `index_paths` call's state, shared by its steps: the summary so far, the FAISS index kept in
    step with each write, and the batch waiting to be embedded."""

    def __init__(self, cat: Catalogue, models: ModelStack, log: Callable[[str], None],
                 memory_budget: int | str | None, progress: bool):
        self.cat, self.models, self.log = cat, models, log
        self.memory_budget, self.progress = memory_budget, progress
        self.summary = Summary()
        self.queries = functools.partial(tuning_queries, models)
        self.index: VectorIndex | None = None
        self.pending: list[tuple[Photo, Record | None, np.ndarray]] = []
        self.touch: dict[int, tuple[int, int]] = {}
        self.last_save = 0.0

    def all(self, roots: Iterable[str | Path], workers: int | None, batch_size: int,
            on_progress: Callable[[int, int], None] | None) -> None:
        """Plan, open FAISS, remove what is gone, decode, embed and write, keep FAISS, record the run."""
        cat, models = self.cat, self.models
        roots = [os.path.abspath(os.path.expanduser(str(r))) for r in roots]
        todo, existing = self.diff(roots)
        describe, recorded = models.describe(), cat.manifest.get("models")
        if not recorded and len(cat):  # the manifest that named the photos' models was lost
            raise NounlensError(models_unknown(cat.path))
        if recorded != describe:  # recorded before any photo is, so a killed first run has them
            cat.update_manifest(models=describe, dim=models.text.dim)
        self.index = load_vectors(cat, save=False, dim=models.text.dim, budget=self.memory_budget,
                                  queries=self.queries)
        if existing:  # under the roots but no longer on disk
            self.remove(existing)
        self.embed_and_write(todo, workers, batch_size, on_progress)
        fill_missing(cat, models, self.progress)  # a catalogue written before evidence was stored
        self.keep(final=True)
        summary = self.summary
        cat.update_manifest(models=describe, dim=models.text.dim, generation=cat.generation(), count=len(cat),
                            last_indexed=now(), faiss=self.index.describe(),
                            last_run=summary.as_dict() | {"skipped_files": summary.skipped_files[:50]})

    def skip(self, path: str, reason: str) -> None:
        self.summary.skipped += 1
        self.summary.skipped_files.append((path, reason))
        self.log(f"skipped {path}: {reason}")

    def diff(self, roots: list[str]) -> tuple[list[tuple[FileEntry, Record | None]], dict[str, Record]]:
        """(files to read: new or with a changed stat, with their record if any; records under `roots`
        whose file is gone). Unreadable entries are skipped, unchanged ones counted."""
        existing = {rec.path: rec for rec in self.cat.iter_records() if _under(rec.path, roots)}
        todo: list[tuple[FileEntry, Record | None]] = []
        for item in walk(roots):
            if isinstance(item, Skipped):
                self.skip(item.path, item.reason)
                continue
            rec = existing.pop(item.path, None)
            if rec and rec.size == item.size and rec.mtime_ns == item.mtime_ns:
                self.summary.unchanged += 1
            else:
                todo.append((item, rec))
        return todo, existing

    def remove(self, existing: dict[str, Record]) -> None:
        """Drop the records of files no longer on disk, from LMDB and FAISS alike."""
        gone = [rec.id for rec in existing.values()]
        self.cat.write(remove=gone)
        self.index = advance(self.cat, self.index, gone=gone, budget=self.memory_budget, queries=self.queries)
        self.summary.removed = len(gone)

    def embed_and_write(self, todo: list[tuple[FileEntry, Record | None]], workers: int | None, batch_size: int,
                        on_progress: Callable[[int, int], None] | None) -> None:
        """Decode `todo` in worker processes and write it in batches; FAISS is saved even when interrupted."""
        stats = {e.path: (e, rec) for e, rec in todo}
        self.last_save = time.monotonic()
        bar = tqdm(total=len(todo), unit="photo", desc="indexing", disable=not self.progress or not todo,
                   file=sys.stderr, dynamic_ncols=True)
        try:
            for path, done, died in decode_all([e.path for e, _ in todo], self.models.backbone.size, workers):
                bar.update(1)
                if on_progress:
                    on_progress(bar.n, len(todo))
                if died:
                    self.skip(path, died)
                    continue
                (_, digest, decoded, error), secs = done
                self.summary.decode_s += secs
                entry, rec = stats[path]
                if error:
                    self.skip(path, error)
                    continue
                if rec is not None and rec.hash == digest:  # touched but same bytes: no need to re-embed
                    self.touch[rec.id] = (entry.size, entry.mtime_ns)
                    self.summary.unchanged += 1
                else:
                    photo = Photo(path, entry.size, entry.mtime_ns, digest, decoded.width, decoded.height,
                                  None, None, decoded.thumb)
                    self.pending.append((photo, rec, decoded.pixels))
                if len(self.pending) >= batch_size:
                    self.flush()
            self.flush()
        finally:
            bar.close()
            save_vectors(self.cat, self.index)  # best effort, never raising: the first error is the one told

    def flush(self) -> None:
        """Embed the pending photos and write them, with the touched stats, as one transaction."""
        if not self.pending and not self.touch:
            return
        t = time.perf_counter()
        features, _, vecs = self.models.embed_pixels(np.stack([px for _, _, px in self.pending])) if self.pending else (
            None, None, None)
        evidence = packed(self.models, features, vecs) if self.pending else []
        self.summary.model_s += time.perf_counter() - t
        adds, replaces = [], {}
        for j, (photo, rec, _) in enumerate(self.pending):
            photo.features, photo.vector, photo.evidence = features[j], vecs[j], evidence[j]
            if rec is None:
                adds.append(photo)
            else:
                replaces[rec.id] = photo
        written = self.cat.write(add=adds, replace=replaces, touch=self.touch)
        ids = np.fromiter(written.keys(), dtype=np.int64)
        vecs = np.stack([p.vector for p in written.values()]) if written else None
        self.index = advance(self.cat, self.index, ids, vecs, budget=self.memory_budget, queries=self.queries)
        self.summary.added += len(adds)
        self.summary.updated += len(replaces)
        self.pending.clear()
        self.touch.clear()
        if time.monotonic() - self.last_save > SAVE_EVERY_S:
            self.keep()
            self.last_save = time.monotonic()

    def keep(self, final: bool = False) -> None:
        """Save FAISS; past a size class, rebuild or re-tune it first."""
        self.index, _ = maintain(self.cat, self.index, self.memory_budget, self.queries,
                                 progress=self.progress and final)
        why = save_vectors(self.cat, self.index)
        if why and final:
            self.log(f"{FAISS_FILE} not saved ({why}): searches catch up from the catalogue until it is")


def reembed(cat: Catalogue, models: ModelStack, batch: int = 4096, wait: bool = True,
            log: Callable[[str], None] | None = None) -> int:
    """Re-project every photo from its stored features (a new head or text encoder), no photo read;
    written in one transaction so a catalogue never mixes two embeddings. Takes the writer lock."""
    with WriterLock(cat.path, wait, log or _stderr_line), reported_write_errors(cat.path, lambda: 0):
        ids, features = cat.features()
        if len(ids):
            vecs = np.concatenate([models.embed_features(features[s:s + batch]) for s in range(0, len(ids), batch)])
            cat.replace_vectors(ids, vecs, packed(models, features, vecs))  # top nouns follow the vectors
        index = load_vectors(cat, queries=functools.partial(tuning_queries, models))
        cat.update_manifest(models=models.describe(), dim=models.text.dim, generation=cat.generation(),
                            count=len(cat), faiss=index.describe())
    return len(ids)
