"""Stages (d) and (e) of `nounlens bench`: reading a page of results from the catalogue (with how much of
the file the OS page cache held), opening it in a fresh process and that process's memory, and bytes on
disk per photo."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_sync import FAISS_FILE, load_vectors

PAGE = 100


def resident_fraction(path: Path) -> float:
    """Share of a file's pages in the OS page cache now (mincore on a fresh read-only mapping)."""
    import ctypes
    import mmap

    size = path.stat().st_size
    if size == 0:
        return 1.0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            return float("nan")
        pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vec = ctypes.create_string_buffer(pages)
        ok = libc.mincore(addr, size, vec) == 0
        libc.munmap(addr, size)
        return float(np.frombuffer(vec.raw, dtype=np.uint8).__and__(1).mean()) if ok else float("nan")
    finally:
        os.close(fd)


def page_bench(path: Path, queries: np.ndarray, runs: int = 5) -> dict:
    """Records + thumbnails of a 100-result page, read the way Engine reads them, three ways:
    "found": each page's first read with the file as this run found it (partly on disk after a reboot
    or on a machine short of memory; the share of the LMDB file in the page cache is measured first);
    "first": the first read in a fresh mapping of a file in the OS page cache (a new search process on
    a catalogue in use); "again": the same pages read again in the same process."""
    cached_before = resident_fraction(path / "db" / "data.mdb")
    cat = Catalogue.open(path, readonly=True)
    try:
        index = load_vectors(cat, save=False)
        pages = [[int(i) for i in index.search(q[None], PAGE)[1][0] if i >= 0] for q in queries]
    finally:
        cat.close()
    times: dict[str, list[float]] = {"found": [], "first": [], "again": []}
    complete, size = True, 0
    for passes in (["found"], ["first"] + ["again"] * (max(runs, 3) - 2)):  # each list on a new mapping
        cat = Catalogue.open(path, readonly=True)
        try:
            for name in passes:
                for p in pages:
                    t = time.perf_counter()
                    recs = cat.records(p)
                    thumbs = [cat.thumb(i) for i in p]
                    times[name].append(time.perf_counter() - t)
                    complete = complete and all(r is not None for r in recs) and all(thumbs)
                    size = sum(len(t) for t in thumbs)
        finally:
            cat.close()

    def pct(xs, q):
        return round(float(np.percentile(xs, q)) * 1e3, 3)

    return ({"pages": len(pages), "runs": runs, "page_size": PAGE, "cached_before": round(cached_before, 3)}
            | {f"{k}_p{q}_ms": pct(v, q) for k, v in times.items() for q in (50, 99)}
            | {"thumb_bytes_per_page": size, "complete": complete})


_PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_sync import load_vectors
t_import = time.perf_counter() - t0
def status():
    s = open('/proc/self/status').read()
    return {k: int(s.split(k + ':')[1].split()[0]) * 1024 for k in ('VmRSS', 'VmHWM', 'RssAnon', 'RssFile')}
rss_imports = status()['VmRSS']
t = time.perf_counter()
cat = Catalogue.open(sys.argv[1], readonly=True)
n = len(cat); gen = cat.generation()
t_lmdb = time.perf_counter() - t
t = time.perf_counter()
index = load_vectors(cat, save=False)
t_faiss = time.perf_counter() - t
rss_loaded = status()
q = np.load(sys.argv[2])
t = time.perf_counter()
scores, ids = index.search(q[:1], 100)
recs = cat.records([int(i) for i in ids[0] if i >= 0]); thumbs = [cat.thumb(int(i)) for i in ids[0] if i >= 0]
t_first = time.perf_counter() - t
for j in range(0, len(q), 1):
    _, ids = index.search(q[j:j + 1], 100)
    cat.records([int(i) for i in ids[0] if i >= 0]); [cat.thumb(int(i)) for i in ids[0] if i >= 0]
index.search(q, 10)
end = status()
mapped = {}  # resident KB per mapped file, from smaps
name = None
for line in open('/proc/self/smaps'):
    head = line.split()
    if '-' in head[0] and len(head) >= 5:
        name = head[5] if len(head) > 5 else None
    elif head[0] == 'Rss:' and name:
        mapped[name] = mapped.get(name, 0) + int(head[1]) * 1024
rss_faiss = sum(v for k, v in mapped.items() if k.endswith('vectors.faiss'))
rss_lmdb = sum(v for k, v in mapped.items() if k.endswith('data.mdb'))
print(json.dumps({"rss_faiss_file": rss_faiss, "rss_lmdb_file": rss_lmdb,
                  "photos": n, "generation": gen, "import_s": t_import, "open_lmdb_s": t_lmdb,
                  "load_faiss_s": t_faiss, "first_page_s": t_first, "rss_after_imports": rss_imports,
                  "rss_after_load": rss_loaded['VmRSS'], "rss": end['VmRSS'], "peak_rss": end['VmHWM'],
                  "rss_anon": end['RssAnon'], "rss_file": end['RssFile'], "kind": index.kind, "queries": len(q)}))
"""


def probe(path: Path, queries: np.ndarray, runs: int = 3) -> dict:
    """Open the catalogue in fresh processes: time to open LMDB, load FAISS and answer the first page;
    then the search process's memory after answering every query with a page of 100 (median of runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        qfile = Path(tmp) / "q.npy"
        np.save(qfile, queries)
        outs = []
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-c", _PROBE, str(path), str(qfile)], capture_output=True,
                                  text=True, timeout=900)
            if done.returncode:
                raise RuntimeError(f"probe failed: {done.stderr.strip().splitlines()[-1:]}")
            outs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(o[k] for o in outs) for k in outs[0] if isinstance(outs[0][k], int | float)}
    med["open_s"] = statistics.median(o["open_lmdb_s"] + o["load_faiss_s"] for o in outs)
    med["kind"] = outs[0]["kind"]
    med["runs"] = runs
    return med


# ---- (e) disk -------------------------------------------------------------------------------------------------
def disk_bench(path: Path) -> dict:
    """Bytes on disk per photo, by part (LMDB named databases from their page counts, FAISS, the rest)."""
    cat = Catalogue.open(path, readonly=True)
    try:
        n = len(cat)
        parts = {}
        with cat.env.begin() as txn:
            for name, db in cat.db.items():
                if db is None:
                    continue
                st = txn.stat(db)
                parts[name] = st["psize"] * (st["branch_pages"] + st["leaf_pages"] + st["overflow_pages"])
        total = cat.disk_bytes()
    finally:
        cat.close()
    faiss_bytes = (path / FAISS_FILE).stat().st_size if (path / FAISS_FILE).exists() else 0
    lmdb_file = sum(f.stat().st_size for f in (path / "db").iterdir())
    return {"photos": n, "total_bytes": total, "bytes_per_photo": round(total / max(n, 1)),
            "faiss_bytes_per_photo": round(faiss_bytes / max(n, 1)),
            "lmdb_bytes_per_photo": round(lmdb_file / max(n, 1)),
            "per_photo_by_db": {k: round(v / max(n, 1)) for k, v in parts.items()}}
