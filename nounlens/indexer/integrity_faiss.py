"""The FAISS half of `nounlens check`: the saved file matches the checksum in its stamp, its stamp's
generation and dimension fit the catalogue, and, caught up from the change log as a search would, it holds
exactly the catalogue's ids, each found by its own stored vector. Repair rebuilds it from LMDB and saves it."""

from __future__ import annotations

import functools

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_choose import FLAT, IVFPQ
from nounlens.indexer.faiss_store import VectorIndex
from nounlens.indexer.faiss_sync import FAISS_FILE, Queries, build_vectors, catch_up, save_vectors, tuning_queries
from nounlens.indexer.manifest import read_manifest
from nounlens.models.embed import ModelStack

LOOKUP_K = 10  # a photo counts as found when its own id is among the nearest this many to its vector
APPROX_MISSES = 0.01  # HNSW and IVF-PQ may miss this share of self-look-ups; an exact index none
BATCH = 4096


def check_faiss(cat: Catalogue, sample: int | None) -> tuple[list[str], int]:
    """(problems, self-look-ups run). `sample`: how many photos to look up by their own vector (None: all)."""
    ids = np.sort(cat.keys("vectors"))
    index, why = VectorIndex.read(cat.path / FAISS_FILE, mmap=True, full_check=True)
    if index is None:
        return ([why] if len(ids) or (cat.path / FAISS_FILE).exists() else []), 0
    gen, dim = index.generation, cat.vectors(ids[:1])[1].shape[-1] if len(ids) else index.dim
    if gen > cat.generation():
        return [f"{FAISS_FILE}'s stamp says generation {gen}, ahead of the catalogue's {cat.generation()}"], 0
    if dim != index.dim:
        return [f"{FAISS_FILE} holds {index.dim}-d vectors, the catalogue {dim}-d ones"], 0
    if not catch_up(cat, index):
        return [f"{FAISS_FILE} (generation {gen}) is further behind the catalogue ({cat.generation()}) than its "
                "change log reaches: every search would rebuild it"], 0
    held = index.ids()
    problems = []
    missing, extra = np.setdiff1d(ids, held), np.setdiff1d(held, ids)
    if len(missing):
        problems.append(f"{FAISS_FILE} lacks {len(missing)} of the catalogue's {len(ids)} photos "
                        f"(ids {', '.join(map(str, missing[:5]))}): no search can find them")
    if len(extra):
        problems.append(f"{FAISS_FILE} holds {len(extra)} ids the catalogue does not have")
    if len(held) != len(np.unique(held)):
        problems.append(f"{FAISS_FILE} holds some ids twice")
    chosen = ids if sample is None or sample >= len(ids) else np.random.default_rng(0).choice(ids, sample, False)
    misses = self_lookup_misses(cat, index, np.sort(chosen))
    allowed = 0 if index.kind == FLAT else int(APPROX_MISSES * len(chosen))
    if misses > allowed:
        problems.append(f"{misses} of {len(chosen)} photos looked up by their own vector are not found "
                        f"({index.kind} index)")
    return problems, len(chosen)


def self_lookup_misses(cat: Catalogue, index: VectorIndex, ids: np.ndarray) -> int:
    """How many of `ids` are not among the LOOKUP_K nearest to their own stored vector, or (exact and HNSW
    indexes keep the vectors themselves) are found with another vector than the catalogue's."""
    misses, exact = 0, index.kind != IVFPQ
    for s in range(0, len(ids), BATCH):
        found, vecs = cat.vectors(ids[s:s + BATCH])
        scores, near = index.search(vecs, LOOKUP_K)
        hit = near == found[:, None]
        ok = hit.any(axis=1)
        if exact:
            ok &= np.where(hit, scores, -np.inf).max(axis=1) > 1 - 1e-3
        misses += int((~ok).sum()) + len(ids[s:s + BATCH]) - len(found)
    return misses


def rebuild_faiss(cat: Catalogue) -> str | None:
    """A fresh index from LMDB, tuned (on the catalogue's nouns where its text encoder is at hand) and saved;
    why it could not be saved, or None."""
    index = build_vectors(cat, queries=_queries(cat))
    return save_vectors(cat, index)


def _queries(cat: Catalogue) -> Queries:
    """Noun vectors of the catalogue's text encoder to tune on, loaded only if tuning needs them."""
    text = ((read_manifest(cat.path) or {}).get("models") or {}).get("text", {}).get("name")
    if not text or ":" in text:  # unknown, or a word-vector file given by path when it was indexed
        return None
    try:
        return functools.partial(tuning_queries, ModelStack(text=text))
    except NounlensError:
        return None
