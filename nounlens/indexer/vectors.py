"""FAISS over the catalogue's unit vectors: a cache of LMDB, stamped with the generation it
reflects, saved by write-to-temp then rename, rebuilt whenever it is older than the catalogue."""

from __future__ import annotations

import json
import os
from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    """Inner-product search (cosine on unit vectors) with the catalogue's ids (IndexIDMap2)."""

    def __init__(self, dim: int, generation: int = 0, index=None):
        self.dim = dim
        self.generation = generation
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.kind = "Flat"

    def __len__(self) -> int:
        return self.index.ntotal

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dim: int, generation: int) -> VectorIndex:
        vi = cls(dim, generation)
        vi.add(ids, vectors)
        return vi

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.asarray(ids, dtype=np.int64))

    def remove(self, ids) -> None:
        if len(ids):
            self.index.remove_ids(np.asarray(list(ids), dtype=np.int64))

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.remove(ids)
        self.add(ids, vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k'); k' <= k, no -1 padding."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self))
        if k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        return self.index.search(q, k)

    def save(self, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        faiss.write_index(self.index, str(tmp))
        stamp = {"generation": self.generation, "kind": self.kind, "count": len(self), "dim": self.dim}
        stamp_tmp = tmp.with_suffix(".json")
        stamp_tmp.write_text(json.dumps(stamp))
        # index first, stamp second: a crash between leaves a stamp that is too old, never too new
        os.replace(tmp, path)
        os.replace(stamp_tmp, stamp_path(path))

    @classmethod
    def load(cls, path: Path) -> VectorIndex | None:
        """The saved index, or None if it is missing or unreadable."""
        try:
            stamp = json.loads(stamp_path(path).read_text())
            index = faiss.read_index(str(path))
        except (OSError, ValueError, RuntimeError):
            return None
        return cls(stamp["dim"], stamp["generation"], index)


def stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")
