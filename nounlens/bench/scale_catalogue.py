"""The scale benchmark's big catalogues: written as the indexer writes them, with FAISS chosen and tuned by
the same code as `nounlens index`, kept between runs while their recipe holds; and the round trip
(search it, add to it, take the photos out again, reopen it in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nounlens.bench.scale_vectors import GENERATOR, SIGMA, RealSet, catalogue_vectors, synthetic
from nounlens.indexer.catalogue import Catalogue, Photo, now
from nounlens.indexer.faiss_sync import FAISS_FILE, load_vectors, tuning_queries

WRITE_BATCH = 20_000


def work_dir() -> Path:
    """Where the big catalogues live (GBs): $NOUNLENS_SCALE_DIR, else the system temp folder."""
    return Path(os.environ.get("NOUNLENS_SCALE_DIR") or Path(tempfile.gettempdir()) / "nounlens-scale")


def synthetic_path(i: int) -> str:
    return f"/synthetic/{i // 1000:04d}/{i:07d}.jpg"


def write_photos(cat: Catalogue, real: RealSet, vectors: np.ndarray, seeds: np.ndarray, start: int,
                 progress: bool = True) -> float:
    """Add photos for `vectors` in big transactions (WRITE_BATCH per generation); seconds taken."""
    t0 = time.perf_counter()
    n = len(vectors)
    with tqdm(total=n, unit="photo", desc="catalogue", disable=not progress, file=sys.stderr) as bar:
        for s in range(0, n, WRITE_BATCH):
            batch = []
            for j in range(s, min(n, s + WRITE_BATCH)):
                i, r = start + j, int(seeds[j])
                thumb = real.thumbs[i % len(real.thumbs)]
                batch.append(Photo(synthetic_path(i), 10_000 + len(thumb), 1_700_000_000_000_000_000 + i,
                                   f"{i:032x}", 500, 375, real.features[r], vectors[j], thumb))
            cat.write(add=batch)
            bar.update(len(batch))
    return time.perf_counter() - t0


def build_catalogue(path: Path, real: RealSet, models, n: int, budget=None, seed: int = 0,
                    progress: bool = True, fresh: bool = False) -> dict:
    """A catalogue of n photos (real vectors, then synthetic) with its FAISS index chosen and tuned as
    `nounlens index` would. Reused when one with the same recipe exists (`fresh` rebuilds it)."""
    recipe = {"n": n, "seed": seed, "sigma": SIGMA, "generator": GENERATOR, "real": len(real.vectors),
              "models": models.describe()}
    stamp = path / "bench-recipe.json"
    old = json.loads(stamp.read_text()) if stamp.exists() else {}
    reuse = not fresh and old.get("recipe") == recipe
    if not reuse and path.exists():
        import shutil

        shutil.rmtree(path)
    cat = Catalogue.open(path, create=not reuse)
    try:
        out = dict(old) if reuse else {"recipe": recipe, "built": now()}
        if not reuse:
            vectors, seeds = catalogue_vectors(real, models, n, seed, progress)
            cat.update_manifest(models=models.describe(), dim=vectors.shape[1])
            out["write_s"] = round(write_photos(cat, real, vectors, seeds, 0, progress), 1)
            del vectors
        # as `nounlens index` ends: FAISS brought up to date, re-chosen if the rules or budget say so, saved
        before = (cat.path / FAISS_FILE).stat().st_mtime_ns if (cat.path / FAISS_FILE).exists() else None
        t = time.perf_counter()
        index = load_vectors(cat, budget=budget, queries=tuning_queries(models), progress=progress)
        if not reuse or before != (cat.path / FAISS_FILE).stat().st_mtime_ns:
            out["faiss_s"] = round(time.perf_counter() - t, 1)
        cat.update_manifest(generation=cat.generation(), count=len(cat), last_indexed=now(), faiss=index.describe())
        out.update(faiss=index.describe(), reused=reuse)
    finally:
        cat.close()
    stamp.write_text(json.dumps(out, indent=2))
    return out


# ---- part 3: search it, add to it, reopen it -------------------------------------------------------------------
def exercise(path: Path, real: RealSet, models, n_add: int = 10_000, seed: int = 99) -> dict:
    """Search the big catalogue through Engine, add `n_add` photos as the indexer does (one write per
    batch, FAISS brought up to date from the change log, saved), then reopen it in a fresh process."""
    from nounlens.search.engine import Engine

    out = {}
    t = time.perf_counter()
    engine = Engine.open(path)
    hits = engine.search("okapi", 10)
    out["engine_open_and_first_search_s"] = round(time.perf_counter() - t, 3)
    out["first_hit"] = hits[0].path if hits else None
    engine.catalogue.close()

    cat = Catalogue.open(path)
    try:
        before = len(cat)
        index = load_vectors(cat, save=False)
        rng = np.random.default_rng(seed)
        vecs, seeds = synthetic(real, models, n_add, rng)
        t = time.perf_counter()
        start = 10_000_000 + cat.generation() * n_add  # fresh paths on every run
        for s in range(0, n_add, 1000):  # a writer commits a batch at a time
            write_photos(cat, real, vecs[s:s + 1000], seeds[s:s + 1000], start + s, progress=False)
        out["write_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        index = load_vectors(cat, current=index)  # catches up from the change log, maintains, saves
        out["faiss_catch_up_and_save_s"] = round(time.perf_counter() - t, 3)
        found = index.search(vecs[:50], 1)[1][:, 0]
        ids = [cat.id_for_path(synthetic_path(start + j)) for j in range(50)]
        out["added_found_by_own_vector"] = float(np.mean(found == np.array(ids)))
        out["photos"] = [before, len(cat)]
        # and take them out again, so the benchmark's catalogue keeps its size from run to run
        added = [cat.id_for_path(synthetic_path(start + j)) for j in range(n_add)]
        t = time.perf_counter()
        for s in range(0, n_add, 1000):
            cat.write(remove=added[s:s + 1000])
        index = load_vectors(cat, current=index)
        out["remove_s"] = round(time.perf_counter() - t, 3)
        cat.update_manifest(generation=cat.generation(), count=len(cat), faiss=index.describe())
    finally:
        cat.close()
    code = ("import sys, time, json; t=time.perf_counter(); from nounlens.search.engine import Engine; "
            "e=Engine.open(sys.argv[1]); r=e.search('okapi', 5); "
            "print(json.dumps({'photos': len(e.catalogue), 'results': len(r), 's': time.perf_counter()-t}))")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=900)
    out["reopen"] = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else done.stderr[-300:]
    return out
