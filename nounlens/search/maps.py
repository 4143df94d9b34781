"""2-D maps for browsing: every photo of a catalogue placed by its vector (UMAP, cached in the catalogue
per generation, coloured by its top noun's WordNet branch), and a noun among its WordNet and
text-space neighbours."""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nounlens.data.wordnet import WordNet
from nounlens.indexer.catalogue import Catalogue
from nounlens.models.text import NounVectors

MAP_FILE = "map.npz"
UMAP_MIN = 64  # below this many photos UMAP has too few neighbours to mean anything: PCA instead
CHUNK = 512  # photos scored against all 82,115 nouns at once (512 x 82k float32 = 168 MB)
_lock = threading.Lock()


@dataclass
class PhotoMap:
    generation: int
    method: str  # "umap", "pca" or "none"
    ids: np.ndarray  # (n,) int64
    xy: np.ndarray  # (n, 2) float32
    top: np.ndarray  # (n,) int32: WordNet row of each photo's top noun

    def __len__(self) -> int:
        return len(self.ids)


def top_noun_rows(vecs: np.ndarray, nouns: NounVectors) -> np.ndarray:
    """Each vector's nearest searchable noun, in chunks so 10k photos never need a 3 GB score matrix."""
    out = np.zeros(len(vecs), dtype=np.int32)
    matrix = np.asarray(nouns.matrix, dtype=np.float32)
    mask = np.where(nouns.covered, 0.0, -np.inf).astype(np.float32)
    for s in range(0, len(vecs), CHUNK):
        scores = np.asarray(vecs[s:s + CHUNK], dtype=np.float32) @ matrix.T
        out[s:s + CHUNK] = np.argmax(scores + mask, axis=1)
    return out


def project_2d(vecs: np.ndarray) -> tuple[np.ndarray, str]:
    """UMAP with cosine distance (about 15 s for 10k photos on 2 cores), PCA for tiny catalogues."""
    n = len(vecs)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32), "none"
    if n < 3:
        return np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32), "none"
    if n < UMAP_MIN:
        centred = vecs - vecs.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return (centred @ vt[:2].T).astype(np.float32), "pca"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap/numba chatter about parallelism and seeds
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), min_dist=0.1, metric="cosine")
        return reducer.fit_transform(vecs).astype(np.float32), "umap"


def photo_map(cat: Catalogue, nouns: NounVectors) -> PhotoMap:
    """The catalogue's map at its current generation: loaded from map.npz, or computed and saved there."""
    path = cat.path / MAP_FILE
    gen = cat.generation()
    cached = _load(path)
    if cached is not None and cached.generation == gen:
        return cached
    with _lock:  # one computation per process, however many browser sessions ask at once
        cached = _load(path)
        if cached is not None and cached.generation == cat.generation():
            return cached
        gen, ids, vecs = cat.snapshot_vectors()
        xy, method = project_2d(vecs)
        top = top_noun_rows(vecs, nouns) if len(ids) else np.zeros(0, dtype=np.int32)
        result = PhotoMap(gen, method, ids, xy, top)
        _save(path, result)
        return result


def _load(path: Path) -> PhotoMap | None:
    try:
        with np.load(path) as z:
            return PhotoMap(int(z["generation"]), str(z["method"]), z["ids"], z["xy"], z["top"])
    except (OSError, KeyError, ValueError):
        return None


def _save(path: Path, m: PhotoMap) -> None:
    """Write-to-temp then rename; a catalogue on a read-only disk just recomputes next time."""
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.npz")
    try:
        np.savez(tmp, generation=m.generation, method=m.method, ids=m.ids, xy=m.xy, top=m.top)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def noun_neighbourhood(wordnet: WordNet, nouns: NounVectors, row: int, k_text: int = 20, hops: int = 2,
                       k_wordnet: int = 20) -> list[dict]:
    """A noun, its nearest WordNet neighbours (by hops) and its nearest nouns in the text space, each
    with 2-D coordinates (PCA of their vectors) and how it relates to the noun."""
    matrix = nouns.matrix
    scores = np.asarray(matrix, dtype=np.float32) @ np.asarray(matrix[row], dtype=np.float32)
    scores[~nouns.covered] = -np.inf
    text = [int(r) for r in np.argsort(-scores)[: k_text + 1] if r != row][:k_text]
    near = {row: 0}
    frontier = {row}
    for h in range(1, hops + 1):
        nxt = set()
        for r in frontier:
            nxt.update(wordnet.hypernyms[r])
            nxt.update(wordnet.children[r])
        frontier = {r for r in nxt if r not in near}
        near.update({r: h for r in frontier})
    graph = sorted((r for r in near if r != row and nouns.covered[r]), key=lambda r: (near[r], -scores[r]))
    graph = graph[:k_wordnet]
    rows = [row] + list(dict.fromkeys(graph + text))
    vecs = np.asarray(matrix[rows], dtype=np.float32)
    xy, _ = project_2d(vecs)
    graph_set, text_set, out = set(graph), set(text), []
    for (x, y), r in zip(xy, rows, strict=True):
        in_graph, in_text = r in graph_set, r in text_set
        relation = ("the noun" if r == row else "both" if in_graph and in_text
                    else f"WordNet, {near[r]} hop{'s' if near[r] > 1 else ''}" if in_graph else "text space")
        n = wordnet.noun(r)
        out.append({"row": r, "wnid": n.wnid, "name": n.name, "gloss": n.gloss, "branch": wordnet.branch(r),
                    "relation": relation, "similarity": float(scores[r]), "x": float(x), "y": float(y)})
    return out
