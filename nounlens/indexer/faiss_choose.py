"""Which FAISS index, in the spirit of autofaiss: an exact scan while it is cheap (Flat), a graph for
medium catalogues that fit the memory budget (HNSW), compressed codes past that (IVF-PQ, whose
candidates are re-ranked exactly: by FAISS from float16 copies of the vectors where the budget allows,
else from the float32 vectors the catalogue stores). The choice is made for the upper end of the
catalogue's size class (powers of 4), so it holds until the catalogue grows into the next class.
Pure arithmetic on count, dimension and budget: nothing here touches FAISS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

FLAT, HNSW, IVFPQ = "Flat", "HNSW", "IVF-PQ"
KINDS = (FLAT, HNSW, IVFPQ)
DEFAULT_BUDGET = 2 << 30  # bytes of RAM the index may take
DEFAULT_TARGET = 0.95
FLAT_MAX = 16384 * 384  # vectors x dims: an exact scan this size stays within a few ms per query
MIN_CLASS, CLASS_STEP = 4096, 4  # size classes: 4k, 16k, 64k, 256k, 1M, 4M, ...
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 128
# Vectors x dims past which a graph loses to IVF-PQ here. Noun queries sit far from every photo (top-20
# scores within ~0.03), which graphs handle badly. At 1M x 384: HNSW needed efSearch 2048 for noun
# recall@10 0.96 (425 queries/s on 2 cores, 1.9 GB); IVF-PQ re-ranked from float16 copies 0.97 at nprobe
# 64 (~860 queries/s, 0.9 GB). At 100k x 384: HNSW 508 queries/s (efSearch 1024), IVF-PQ 769. Measured
# at d=384 only; that a graph's cost scales with vectors x dims, as a scan's does, is an assumption.
HNSW_MAX = 65536 * 384


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
