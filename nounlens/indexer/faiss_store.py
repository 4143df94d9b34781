"""FAISS over the catalogue's unit vectors: a cache of LMDB, stamped with the generation it reflects,
saved by write-to-temp then rename. Building, adding, removing, searching, saving and loading one index;
which kind it is comes from faiss_choose, its search setting from faiss_tune."""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

from nounlens.indexer.faiss_choose import DEFAULT_TARGET, FLAT, HNSW, IVFPQ, Choice, choose, parse_bytes
from nounlens.indexer.faiss_device import gpu_count, gpu_resources, omp_threads
from nounlens.indexer.faiss_tune import TUNE_QUERIES, tune_search

MAX_DEAD = 0.25  # HNSW/IVF-PQ hide removed vectors; past this share the index is rebuilt
_LIVE = (0, 1 << 62)  # removed entries have id -1, outside this range

Fetch = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # ids -> (ids found, their exact vectors)


# ---- the index ------------------------------------------------------------------------------------
def _new_faiss(choice: Choice, dim: int) -> faiss.Index:
    if choice.kind == FLAT:
        inner = faiss.IndexFlatIP(dim)
    elif choice.kind == HNSW:
        inner = faiss.IndexHNSWFlat(dim, choice.params["M"], faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = choice.params["efConstruction"]
    else:  # L2 on unit vectors ranks as inner product does, and lets IVF-PQ precompute its tables
        p = choice.params
        inner = faiss.IndexIVFPQ(faiss.IndexFlatL2(dim), dim, p["nlist"], p["m"], p["nbits"])
        inner.cp.niter = inner.pq.cp.niter = 10  # k-means to a few % of its last objective; 2.5x faster
        inner.pq.cp.max_points_per_centroid = 100
        _no_tables(inner)
        if p.get("refine") == "fp16":
            inner = faiss.IndexRefine(inner, faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16))
        if gpu_count():
            inner.clustering_index = faiss.index_cpu_to_gpu(gpu_resources(), 0, faiss.IndexFlatL2(dim))
    return faiss.IndexIDMap2(inner)


def _no_tables(ivfpq) -> None:
    """IVF-PQ without its precomputed distance tables (nlist x m x 256 floats: 400 MB at 1M): measured
    here they made single queries slower (2.4 ms against 1.5 ms p50 at nprobe 64, the tables missing the
    cache) and cost 0.5 s on every open, since FAISS does not store them."""
    ivfpq.use_precomputed_table = -1
    ivfpq.precomputed_table.clear()


class VectorIndex:
    """Cosine search (inner product on unit vectors) with the catalogue's ids (IndexIDMap2).
    Flat removes in place; HNSW and IVF-PQ cannot, so a removed vector's id becomes -1 and searches
    skip it (rebuilt past MAX_DEAD). `info` is the choice, its tuned setting and measured recall."""

    def __init__(self, dim: int, generation: int = 0, index=None, info: dict | None = None):
        self.dim = dim
        self.generation = generation
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.info = info or {"kind": FLAT, "params": {}, "search": {}, "recall": None}
        self.fetch: Fetch | None = None  # exact vectors by id, for IVF-PQ's re-rank (the catalogue)
        self.mapped = False  # vectors read in place from the file (load(mmap=True)) until the first write
        self._gpu = None
        ids = self._ids()
        self.dead = int(np.count_nonzero(ids == -1)) if self.kind != FLAT else 0
        self._max_id = int(ids.max()) if len(ids) else -1

    @property
    def kind(self) -> str:
        return self.info["kind"]

    @property
    def refine(self) -> str | None:
        """IVF-PQ's exact re-rank: "fp16" (inside the FAISS index) or "catalogue" (vectors from LMDB)."""
        return self.info["params"].get("refine", "catalogue") if self.kind == IVFPQ else None

    def __len__(self) -> int:
        return self.index.ntotal - self.dead

    def _ids(self) -> np.ndarray:
        """The id map as a writable view (valid until the next add)."""
        n = self.index.ntotal
        return faiss.rev_swig_ptr(self.index.id_map.data(), n) if n else np.zeros(0, np.int64)

    def ids(self) -> np.ndarray:
        """The ids it holds, removed ones left out (a copy)."""
        ids = self._ids()
        return ids[ids >= 0].copy()

    @property
    def dead_fraction(self) -> float:
        return self.dead / self.index.ntotal if self.index.ntotal else 0.0

    # ---- building --------------------------------------------------------------------------------
    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dim: int, generation: int, budget: int | None = None,
              kind: str | None = None, target: float = DEFAULT_TARGET, queries: dict | None = None,
              fetch: Fetch | None = None, progress: bool = False) -> VectorIndex:
        """Choose (or take `kind`), train, add, and tune on `queries` ({name: unit vectors}) plus
        held-out catalogue vectors."""
        budget = parse_bytes(budget)
        choice = choose(len(ids), dim, budget, kind)
        t0 = time.perf_counter()
        index = _new_faiss(choice, dim)
        info = {"kind": choice.kind, "params": choice.params, "search": {}, "recall": None, "budget": budget,
                "n_class": choice.n_class, "est_bytes": choice.est_bytes, "target": target}
        if kind:
            info["forced"] = True
        vi = cls(dim, generation, index, info)
        vi.fetch = fetch
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if choice.kind == IVFPQ and len(ids):
            vi._train(vectors)
        vi.add(ids, vectors, progress=progress)
        info["build_s"] = round(time.perf_counter() - t0, 2)
        if choice.kind != FLAT and len(ids):
            vi.tune(ids, vectors, queries, target)
        return vi

    def _train(self, vectors: np.ndarray) -> None:
        nlist = self.info["params"]["nlist"]
        rng = np.random.default_rng(0)
        sample = vectors if len(vectors) <= 64 * nlist else vectors[np.sort(rng.choice(len(vectors), 64 * nlist,
                                                                                       replace=False))]
        self.index.index.train(sample)

    def _own(self) -> None:
        """Copy a memory-mapped index into memory before changing it (FAISS aborts on writes to a view)."""
        if self.mapped:
            self.index = faiss.deserialize_index(faiss.serialize_index(self.index), faiss.IO_FLAG_SKIP_PRECOMPUTE_TABLE)
            if self.kind == IVFPQ:
                _no_tables(faiss.downcast_index(faiss.extract_index_ivf(self.index)))
            self.mapped = False

    def add(self, ids: np.ndarray, vectors: np.ndarray, progress: bool = False) -> None:
        if not len(ids):
            return
        self._own()
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        step = 65536
        with tqdm(total=len(ids), unit="vec", desc=f"FAISS {self.kind}", file=sys.stderr, dynamic_ncols=True,
                  disable=not progress or len(ids) <= step) as bar:
            for s in range(0, len(ids), step):
                self.index.add_with_ids(vectors[s:s + step], ids[s:s + step])
                bar.update(len(ids[s:s + step]))
        self._max_id = max(self._max_id, int(ids.max()))
        self._gpu = None if self._gpu is not False else False  # GPU copy is stale

    def remove(self, ids: Iterable[int]) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if not len(ids) or ids.min() > self._max_id:  # new photos: nothing to remove
            return
        self._gpu = None if self._gpu is not False else False  # GPU copy is stale
        if self.kind == FLAT:
            self._own()
            self.index.remove_ids(ids)
            return
        view = self._ids()
        pos = np.flatnonzero(np.isin(view, ids))
        view[pos] = -1
        self.dead += len(pos)

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.remove(ids)
        self.add(ids, vectors)

    # ---- searching -------------------------------------------------------------------------------
    def _params(self, setting: dict | None = None):
        s = setting or self.info["search"]
        sel = faiss.IDSelectorRange(*_LIVE) if self.dead else None
        if self.kind == HNSW:
            p = faiss.SearchParametersHNSW()
            p.efSearch = int(s.get("efSearch", 64))
        elif self.kind == IVFPQ:
            p = faiss.SearchParametersIVF()
            p.nprobe = int(s.get("nprobe", 1))
            if self.refine == "fp16":  # IndexRefine passes only its base's parameters on, untranslated
                if sel is not None:
                    p.sel = faiss.IDSelectorTranslated(self.index.id_map, sel)
                outer = faiss.IndexRefineSearchParameters()
                outer.k_factor = float(max(1, int(s.get("rerank", 1))))
                outer.base_index_params = p
                outer._refs = (p, p.sel, sel)  # SWIG does not keep these alive
                return outer
        else:
            p = faiss.SearchParameters()
        if sel is not None:
            p.sel = sel
        p._sel_ref = sel  # SWIG does not keep the selector alive
        return p

    def _raw(self, q: np.ndarray, k: int, setting: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        if len(q) == 1:
            with omp_threads(1):
                return self._raw_many(q, k, setting)
        return self._raw_many(q, k, setting)

    def _raw_many(self, q: np.ndarray, k: int, setting: dict | None) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == FLAT:
            if self._gpu is None and gpu_count():
                try:
                    self._gpu = faiss.index_cpu_to_gpu(gpu_resources(), 0, self.index)
                except (RuntimeError, AttributeError) as e:  # a faiss-gpu that cannot clone this index
                    print(f"nounlens: FAISS on CPU ({e})", file=sys.stderr)
                    self._gpu = False
            return (self._gpu or self.index).search(q, k)
        d, i = self.index.search(q, k, params=self._params(setting))
        if self.kind == IVFPQ:  # squared L2 -> inner product (x is unit; any query norm)
            d = np.where(i >= 0, ((q * q).sum(1, keepdims=True) + 1 - d) / 2, -np.inf).astype(np.float32)
        return d, i

    def search(self, queries: np.ndarray, k: int, setting: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k'), k' <= k. Approximate kinds may pad a row with id -1."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self))
        if k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        rerank = int((setting or self.info["search"]).get("rerank", 0))
        if self.kind == IVFPQ and self.refine == "catalogue" and rerank > 1 and self.fetch is not None:
            return self._reranked(q, k, rerank, setting)
        return self._raw(q, k, setting)

    def _reranked(self, q: np.ndarray, k: int, factor: int, setting: dict | None) -> tuple[np.ndarray, np.ndarray]:
        """IVF-PQ candidates (k x factor) scored again with the exact stored vectors."""
        _, cand = self._raw(q, min(k * factor, len(self)), setting)
        found, vecs = self.fetch(np.unique(cand[cand >= 0]))
        if not len(found):
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        order = np.argsort(found)
        found, vecs = found[order], np.asarray(vecs, dtype=np.float32)[order]
        pos = np.clip(np.searchsorted(found, cand), 0, len(found) - 1)
        scores = np.einsum("qd,qcd->qc", q, vecs[pos])
        scores[(cand < 0) | (found[pos] != cand)] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        d = np.take_along_axis(scores, top, axis=1)
        i = np.where(np.isfinite(d), np.take_along_axis(cand, top, axis=1), -1)
        return d.astype(np.float32), i

    # ---- tuning ----------------------------------------------------------------------------------
    def tune(self, ids: np.ndarray, vectors: np.ndarray, queries: dict | None = None,
             target: float = DEFAULT_TARGET, n_queries: int = TUNE_QUERIES) -> dict:
        """Tune the search setting on held-out catalogue vectors and `queries` (faiss_tune.tune_search);
        recorded in `info`."""
        self.info.update(tune_search(self, ids, vectors, queries, target, n_queries))
        return self.info

    def outgrown(self, n: int, budget: int | None = None) -> str | None:
        """'rebuild' or 'retune' when n live vectors no longer suit this index, else None."""
        budget = parse_bytes(budget or self.info.get("budget"))
        want = choose(n, self.dim, budget, self.kind if self.info.get("forced") else None)
        if want.kind != self.kind or self.dead_fraction > MAX_DEAD:
            return "rebuild"
        if self.kind == FLAT or want.n_class == self.info.get("n_class"):
            return None
        return "rebuild" if self.kind == IVFPQ else "retune"

    def describe(self) -> dict:
        """What the manifest records and `nounlens info` shows."""
        return {**self.info, "count": len(self), "removed_hidden": self.dead, "gpu": gpu_count() > 0}

    # ---- files -----------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write to a temp file, checksum it, rename it, then the stamp the same way: a crash leaves a stamp
        that does not match the file, which means a rebuild, never a silent use. A failed write (a full
        disk: faiss raises RuntimeError) leaves no temp file."""
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        stamp_tmp = tmp.with_suffix(".json")
        try:
            faiss.write_index(self.index, str(tmp))
            stamp = {**self.info, "generation": self.generation, "count": len(self), "dim": self.dim,
                     "crc32": file_crc32(tmp)}
            os.replace(tmp, path)
            stamp["file"] = file_identity(path)  # re-read in full only when the file is no longer this one
            stamp_tmp.write_text(json.dumps(stamp))
            os.replace(stamp_tmp, stamp_path(path))
        except BaseException:
            tmp.unlink(missing_ok=True)
            stamp_tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> VectorIndex | None:
        """The saved index, or None if it is missing, damaged or unreadable (see `read`)."""
        return cls.read(path, mmap)[0]

    @classmethod
    def read(cls, path: Path, mmap: bool = False, full_check: bool = False) -> tuple[VectorIndex | None, str | None]:
        """(the saved index, None), or (None, why not). The file's bytes are checked against the checksum in
        its stamp before FAISS reads them: in full when the file is not the one the stamp was written for
        (or with `full_check`), else by its identity (inode, size, mtime, ctime). `mmap`: map the stored
        vectors from the file instead of reading them (a 1M HNSW opens in a fraction of a second, and its
        vectors stay in the page cache that every reader shares); the first write copies them in."""
        flags = (getattr(faiss, "IO_FLAG_MMAP_IFC", 0) if mmap else 0) | faiss.IO_FLAG_SKIP_PRECOMPUTE_TABLE
        try:
            stamp = json.loads(stamp_path(path).read_text())
            why = check_file(path, stamp, full_check)
            if why:
                return None, why
            index = faiss.read_index(str(path), flags)
        except FileNotFoundError as e:
            return None, f"{Path(e.filename).name} is missing"
        except (OSError, ValueError, RuntimeError) as e:
            return None, f"{path.name} cannot be read: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        if stamp.get("kind") == IVFPQ:
            _no_tables(faiss.downcast_index(faiss.extract_index_ivf(index)))
        info = {k: v for k, v in stamp.items() if k not in ("generation", "count", "dim", "crc32", "file")}
        info.setdefault("kind", FLAT)
        info.setdefault("params", {})
        info.setdefault("search", {})
        vi = cls(stamp["dim"], stamp["generation"], index, info)
        vi.mapped = mmap and bool(flags & getattr(faiss, "IO_FLAG_MMAP_IFC", 0))
        return vi, None


def file_identity(path: Path) -> list[int]:
    """What changes whenever a file's bytes are written: inode, size, mtime and ctime (ctime no one can set)."""
    st = os.stat(path)
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def file_crc32(path: Path, block: int = 1 << 24) -> int:
    """CRC-32 of a file's bytes (zlib: about 1.3 GB/s here, a 1M-photo IVF-PQ file in under a second)."""
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(block):
            crc = zlib.crc32(chunk, crc)
    return crc


def check_file(path: Path, stamp: dict, full: bool = False) -> str | None:
    """Why the FAISS file cannot be trusted with this stamp, or None."""
    if "crc32" not in stamp:
        return f"{path.name} has no checksum in its stamp (saved by an older nounlens)"
    if not full and stamp.get("file") == file_identity(path):
        return None
    if file_crc32(path) != stamp["crc32"]:
        return f"{path.name} does not match the checksum in its stamp (damaged, or saved apart from its stamp)"
    return None


def stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")
