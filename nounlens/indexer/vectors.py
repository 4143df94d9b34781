"""FAISS over the catalogue's unit vectors: a cache of LMDB, stamped with the generation it
reflects, saved by write-to-temp then rename, brought up to date (or rebuilt) when it is older.

Which index, in the spirit of autofaiss: an exact scan while it is cheap (Flat), a graph for medium
catalogues that fit the memory budget (HNSW), compressed codes past that (IVF-PQ, whose candidates are
re-ranked exactly: by FAISS from float16 copies of the vectors where the budget allows, else from
the float32 vectors the catalogue stores). The search-time knob (efSearch; nprobe and re-rank
depth) is tuned by measuring recall@10 against exact search on held-out queries, and the choice is
made for the upper end of the catalogue's size class (powers of 4), so it holds until the catalogue
grows into the next class.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

FLAT, HNSW, IVFPQ = "Flat", "HNSW", "IVF-PQ"
KINDS = (FLAT, HNSW, IVFPQ)
DEFAULT_BUDGET = 2 << 30  # bytes of RAM the index may take
DEFAULT_TARGET = 0.95
RECALL_K = 10
FLAT_MAX = 16384 * 384  # vectors x dims: an exact scan this size stays within a few ms per query
MIN_CLASS, CLASS_STEP = 4096, 4  # size classes: 4k, 16k, 64k, 256k, 1M, 4M, ...
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 128
# Vectors x dims past which a graph loses to IVF-PQ here. Noun queries sit far from every photo (top-20
# scores within ~0.03), which graphs handle badly. At 1M x 384: HNSW needed efSearch 2048 for noun
# recall@10 0.96 (425 queries/s on 2 cores, 1.9 GB); IVF-PQ re-ranked from float16 copies 0.97 at nprobe
# 64 (~860 queries/s, 0.9 GB). At 100k x 384: HNSW 508 queries/s (efSearch 1024), IVF-PQ 769. Measured
# at d=384 only; that a graph's cost scales with vectors x dims, as a scan's does, is an assumption.
HNSW_MAX = 65536 * 384
EF_STEPS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)
RERANK_STEPS = (4, 8, 16, 32)  # IVF-PQ: candidates re-ranked exactly, as multiples of k
TUNE_QUERIES = 300  # per query set
TUNE_MARGIN = 0.01  # tune to target + this (~2 standard errors of recall@10 on 300 queries), so new queries reach it
MAX_DEAD = 0.25  # HNSW/IVF-PQ hide removed vectors; past this share the index is rebuilt
_LIVE = (0, 1 << 62)  # removed entries have id -1, outside this range

Fetch = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # ids -> (ids found, their exact vectors)


# ---- the choice ---------------------------------------------------------------------------------
def parse_bytes(text: str | int | None) -> int:
    """'2GB', '512MB', '1.5G', or a number of bytes (binary units: 1GB = 2**30)."""
    if text is None:
        return DEFAULT_BUDGET
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)i?b?\s*", str(text).lower())
    if not m:
        raise ValueError(f"not a size: {text!r} (examples: 2GB, 512MB)")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def size_class(n: int) -> int:
    """The upper end of n's size class: choices and tuned settings hold until the catalogue outgrows it."""
    c = MIN_CLASS
    while c < n:
        c *= CLASS_STEP
    return c


@dataclass
class Choice:
    kind: str
    params: dict
    n_class: int
    est_bytes: int


def estimate_bytes(kind: str, n: int, dim: int, params: dict) -> int:
    """RAM the index takes for n vectors (codes, graph links, id map with its reverse map)."""
    ids = 8 + 56  # IndexIDMap2: id vector + unordered_map node
    if kind == FLAT:
        return n * (4 * dim + ids)
    if kind == HNSW:
        return n * (4 * dim + 8 * params["M"] + 20 + ids)
    refine = 2 * dim if params.get("refine") == "fp16" else 0
    return n * (params["m"] + 8 + ids + refine) + 4 * dim * (params["nlist"] + 256)


def _pow2(x: float) -> int:
    return 1 << max(0, round(np.log2(max(x, 1))))


def ivfpq_params(n: int, n_class: int, dim: int, budget: int) -> dict:
    """nlist ~ 4 sqrt(N) (at least 39 training points per list); the most PQ bytes (up to d/4, each
    sub-quantizer >= 4 dims) that fit the budget, with float16 copies of the vectors to re-rank with
    if they fit too (1.7-2x the queries/s of re-ranking from LMDB at 1M, same recall), else re-ranked
    from the catalogue."""
    nlist = max(16, min(_pow2(4 * np.sqrt(n_class)), _pow2(n / 39) if n >= 39 * 16 else 16, 65536))
    ms = [m for m in range(dim // 4, 0, -1) if dim % m == 0] or [1]
    for refine in ("fp16", "catalogue"):
        for m in ms:
            params = {"nlist": nlist, "m": m, "nbits": 8, "refine": refine}
            if estimate_bytes(IVFPQ, n_class, dim, params) <= budget:
                return params
    return {"nlist": nlist, "m": ms[-1], "nbits": 8, "refine": "catalogue"}


def choose(n: int, dim: int, budget: int = DEFAULT_BUDGET, kind: str | None = None) -> Choice:
    """Flat while an exact scan is cheap, HNSW up to HNSW_MAX while it fits `budget`, else IVF-PQ;
    `kind` forces one."""
    n_class = size_class(n)
    hnsw = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
    if kind is None:
        if n_class * dim <= FLAT_MAX:
            kind = FLAT
        elif n_class * dim <= HNSW_MAX and estimate_bytes(HNSW, n_class, dim, hnsw) <= budget:
            kind = HNSW
        else:
            kind = IVFPQ
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; choose one of {', '.join(KINDS)}")
    params = {FLAT: {}, HNSW: hnsw}[kind] if kind != IVFPQ else ivfpq_params(n, n_class, dim, budget)
    return Choice(kind, params, n_class, estimate_bytes(kind, n_class, dim, params))


# ---- GPU (faiss-gpu), used where present ------------------------------------------------------------
def gpu_count() -> int:
    try:
        return faiss.get_num_gpus()
    except AttributeError:  # a faiss build without the GPU entry points
        return 0


@functools.cache
def _gpu_resources():
    return faiss.StandardGpuResources()


def exact_knn(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k (the ground truth for tuning), on the GPU when there is one."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if gpu_count():
        return faiss.knn_gpu(_gpu_resources(), q, x, k, metric=faiss.METRIC_INNER_PRODUCT)
    return faiss.knn(q, x, k, metric=faiss.METRIC_INNER_PRODUCT)


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
            inner.clustering_index = faiss.index_cpu_to_gpu(_gpu_resources(), 0, faiss.IndexFlatL2(dim))
    return faiss.IndexIDMap2(inner)


def _no_tables(ivfpq) -> None:
    """IVF-PQ without its precomputed distance tables (nlist x m x 256 floats: 400 MB at 1M): measured
    here they made single queries slower (2.4 ms against 1.5 ms p50 at nprobe 64, the tables missing the
    cache) and cost 0.5 s on every open, since FAISS does not store them."""
    ivfpq.use_precomputed_table = -1
    ivfpq.precomputed_table.clear()


@contextlib.contextmanager
def _threads(n: int):
    """OpenMP threads for this thread's FAISS calls. One query gains nothing from a second thread and,
    on a busy machine, loses much waiting for it (16 ms against 2.6 ms p50 at 1M, load average 6)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


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

    def remove(self, ids) -> None:
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
            with _threads(1):
                return self._raw_many(q, k, setting)
        return self._raw_many(q, k, setting)

    def _raw_many(self, q: np.ndarray, k: int, setting: dict | None) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == FLAT:
            if self._gpu is None and gpu_count():
                try:
                    self._gpu = faiss.index_cpu_to_gpu(_gpu_resources(), 0, self.index)
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
        """The cheapest search setting whose recall@10 against exact search reaches `target` (plus
        TUNE_MARGIN) on every query set: held-out catalogue vectors ("photo": each query's own id is left
        out of both answers) and any `queries` given ({"text": noun vectors}). Recorded in `info`."""
        t0 = time.perf_counter()
        bench = _RecallBench(ids, vectors, queries, n_queries)
        if self.kind == HNSW:
            candidates = ({"efSearch": ef} for ef in EF_STEPS)
            best = _first_reaching(self, bench, candidates, target + TUNE_MARGIN)
        else:
            best = _fastest_ivf(self, bench, target + TUNE_MARGIN)
        self.info.update(search=best["setting"], recall=best["recall"], target=target, tuned_n=int(len(ids)),
                         n_class=size_class(len(ids)), tune_s=round(time.perf_counter() - t0, 2),
                         tune_queries={name: len(qs) for name, (qs, _) in bench.sets.items()})
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
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        faiss.write_index(self.index, str(tmp))
        stamp = {**self.info, "generation": self.generation, "count": len(self), "dim": self.dim}
        stamp_tmp = tmp.with_suffix(".json")
        stamp_tmp.write_text(json.dumps(stamp))
        # index first, stamp second: a crash between leaves a stamp that is too old, never too new
        os.replace(tmp, path)
        os.replace(stamp_tmp, stamp_path(path))

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> VectorIndex | None:
        """The saved index, or None if it is missing or unreadable. `mmap`: map the stored vectors from
        the file instead of reading them (a 1M HNSW opens in a fraction of a second, and its vectors
        stay in the page cache that every reader shares); the first write copies them in."""
        flags = (getattr(faiss, "IO_FLAG_MMAP_IFC", 0) if mmap else 0) | faiss.IO_FLAG_SKIP_PRECOMPUTE_TABLE
        try:
            stamp = json.loads(stamp_path(path).read_text())
            index = faiss.read_index(str(path), flags)
        except (OSError, ValueError, RuntimeError):
            return None
        if stamp.get("kind") == IVFPQ:
            _no_tables(faiss.downcast_index(faiss.extract_index_ivf(index)))
        info = {k: v for k, v in stamp.items() if k not in ("generation", "count", "dim")}
        info.setdefault("kind", FLAT)
        info.setdefault("params", {})
        info.setdefault("search", {})
        vi = cls(stamp["dim"], stamp["generation"], index, info)
        vi.mapped = mmap and bool(flags & getattr(faiss, "IO_FLAG_MMAP_IFC", 0))
        return vi


def stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


# ---- measuring recall ---------------------------------------------------------------------------------
class _RecallBench:
    """Query sets with their exact top-10, and recall@10 of an index setting on each."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, queries: dict | None, n: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        queries = queries() if callable(queries) else queries
        ids = np.asarray(ids, dtype=np.int64)
        rows = rng.choice(len(ids), min(n, len(ids)), replace=False)
        self.sets = {"photo": (vectors[rows], ids[rows])}  # leave-one-out: own id excluded
        for name, q in (queries or {}).items():
            q = np.asarray(q, dtype=np.float32)
            if len(q):
                self.sets[name] = (q[rng.choice(len(q), min(n, len(q)), replace=False)], None)
        self.truth = {}
        for name, (q, own) in self.sets.items():
            _, rows_found = exact_knn(q, vectors, RECALL_K + 1)
            self.truth[name] = _top(np.where(rows_found >= 0, ids[np.clip(rows_found, 0, None)], -1), own)

    def recall(self, index: VectorIndex, setting: dict) -> tuple[dict, float]:
        """({set: recall@10}, seconds per query)."""
        out, t, nq = {}, 0.0, 0
        for name, (q, own) in self.sets.items():
            t0 = time.perf_counter()
            _, found = index.search(q, RECALL_K + 1, setting)
            t += time.perf_counter() - t0
            nq += len(q)
            out[name] = round(recall_at(_top(found, own), self.truth[name]), 4)
        out["min"] = min(out.values())
        return out, t / max(nq, 1)


def _top(found: np.ndarray, own: np.ndarray | None) -> np.ndarray:
    """The first RECALL_K ids of each row, without the query's own id."""
    if own is None:
        return found[:, :RECALL_K]
    out = np.full((len(found), RECALL_K), -1, np.int64)
    for r, (row, me) in enumerate(zip(found, own, strict=True)):
        keep = row[row != me][:RECALL_K]
        out[r, :len(keep)] = keep
    return out


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each row's true ids that were found (ids -1 never count)."""
    hits = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, int((t >= 0).sum()))
            for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


def _first_reaching(index: VectorIndex, bench: _RecallBench, settings, target: float) -> dict:
    best = None
    for setting in settings:
        recall, secs = bench.recall(index, setting)
        best = {"setting": setting, "recall": recall, "s_per_query": secs}
        if recall["min"] >= target:
            break
    return best


def _fastest_ivf(index: VectorIndex, bench: _RecallBench, target: float) -> dict:
    """For each re-rank depth, the smallest nprobe reaching target; the fastest of those wins
    (or, when none reaches it, the best recall)."""
    nlist = index.info["params"]["nlist"]
    probes = [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if p <= nlist]
    results = []
    for factor in RERANK_STEPS if index.fetch is not None or index.refine == "fp16" else (1,):
        last = -1.0
        for nprobe in probes:
            setting = {"nprobe": nprobe, "rerank": factor}
            recall, secs = bench.recall(index, setting)
            results.append({"setting": setting, "recall": recall, "s_per_query": secs})
            if recall["min"] >= target or recall["min"] < last + 0.002:  # reached, or no longer improving
                break
            last = recall["min"]
    reaching = [r for r in results if r["recall"]["min"] >= target]
    if reaching:
        return min(reaching, key=lambda r: r["s_per_query"])
    return max(results, key=lambda r: r["recall"]["min"])


def summary_line(info: dict | None) -> str:
    """One line for `nounlens info`: kind, build parameters, tuned setting, measured recall@10."""
    if not info:
        return "not built yet"
    if "params" not in info:  # a manifest written before the index was chosen automatically
        return f"{info.get('kind', FLAT)}, {info.get('count', 0):,} vectors"

    def kv(d: dict) -> str:
        return ", ".join(f"{k}={v}" for k, v in d.items())

    line = info["kind"] + (f" ({kv(info['params'])})" if info["params"] else "") + f", {info.get('count', 0):,} vectors"
    if info.get("search"):
        line += f"; {kv(info['search'])}"
    recall = info.get("recall")
    if recall:
        parts = ", ".join(f"{k} {v:.3f}" for k, v in recall.items() if k != "min")
        line += f"; recall@10 {recall['min']:.3f} (target {info.get('target', DEFAULT_TARGET)}; {parts})"
    elif info["kind"] == FLAT:
        line += "; exact"
    if info.get("budget"):
        line += f"; budget {info['budget'] / 2**30:.2f} GB, index ~{info.get('est_bytes', 0) / 2**20:.0f} MB at " \
                f"{info.get('n_class', 0):,} vectors"
    if info.get("removed_hidden"):
        line += f"; {info['removed_hidden']} removed vectors hidden until the next rebuild"
    return line
