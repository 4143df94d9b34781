"""Shared by the FAISS tests (tests/indexer/): clustered unit vectors like photos, queries like nouns,
and catalogue photos around a given or a random vector."""

from __future__ import annotations

import numpy as np

from nounlens.indexer.catalogue import Photo


def structured(n: int, d: int = 64, seed: int = 0, centres: int = 200) -> np.ndarray:
    """Unit vectors in clusters of uneven size, like photos of a few hundred kinds of thing."""
    rng = np.random.default_rng(seed)
    c = np.random.default_rng(1).standard_normal((centres, d)).astype(np.float32)
    x = c[rng.zipf(1.5, n) % centres] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def text_like(n: int, d: int = 64, seed: int = 5) -> np.ndarray:
    """Queries far from every vector: mixtures of three cluster centres."""
    rng = np.random.default_rng(seed)
    c = np.random.default_rng(1).standard_normal((200, d)).astype(np.float32)
    q = c[rng.integers(0, 200, (n, 3))].sum(1)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def photo(i: int, v: np.ndarray) -> Photo:
    return Photo(f"/p/{i}.jpg", 10 + i, 1000 + i, f"h{i}", 64, 48, np.zeros(1280), v, b"jpeg")


def random_photo(path: str, seed: int, d: int = 8) -> Photo:
    """A photo at `path` with a random unit vector of `d` dimensions and a thumbnail of its own."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=d).astype(np.float32)
    return Photo(path, 10 + seed, 1000 + seed, f"h{seed}", 64, 48, rng.normal(size=1280), v / np.linalg.norm(v),
                 b"jpeg%d" % seed)
