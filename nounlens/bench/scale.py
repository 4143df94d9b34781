"""Stages (c)-(e) of `nounlens bench`, and the 1M-photo catalogue they run on (issue 12, parts 2-3).

Vectors. The real ones are the ConSE embeddings of the ../shared/data photos (12,672: imagenet-sample,
the Caltech zero-shot gallery, tiny-imagenet train and val; backbone features from the feature cache).
Beyond those the vectors are *synthetic*, drawn to match them: ConSE of a real photo's ImageNet logits
plus N(0, SIGMA^2) noise per logit (a photo's logits spread ~1.4 around their mean). Measured on sets of
the real size, this reproduces the real set's neighbour structure (median cosine to the nearest / 10th
nearest photo: real 0.963 / 0.898, synthetic 0.960 / 0.882), which Gaussian noise around real vectors
does not (all its neighbours sit at one distance). Thumbnails are real 72-px catalogue thumbnails of
imagenet-sample photos, reused in turn; features are the seed photo's real backbone features.

Queries. "text": WordNet noun vectors (what `search` looks up; far from every photo, with the top 20
scores within ~0.03 of each other, so they are the hard case for approximate search); "photo": new
synthetic photos not in the catalogue (what `similar` looks up). Both are disjoint from the queries
the index was tuned on.

Baseline: scikit-learn NearestNeighbors(metric="cosine", algorithm="brute"), what the seed's course used.

The parts, each its own module: scale_vectors.py (the real and synthetic vectors, the queries),
scale_catalogue.py (the big catalogues, built once and reused, and the round trip through them),
scale_search.py (c), scale_storage.py (d, e) and scale_report.py (the markdown section); this module
runs them in order.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nounlens.bench.report import loadavg
from nounlens.bench.scale_catalogue import build_catalogue, exercise, work_dir
from nounlens.bench.scale_report import markdown, targets
from nounlens.bench.scale_search import search_bench
from nounlens.bench.scale_storage import disk_bench, page_bench, probe
from nounlens.bench.scale_vectors import eval_queries, real_set

__all__ = ["run", "markdown", "targets"]

SIZES, QUICK_SIZES = (100_000, 1_000_000), (100_000,)


def run(quick: bool = False, data: str | Path = "../shared/data", work: str | Path | None = None,
        runs: int | None = None, budget=None, progress: bool = True, fresh: bool = False) -> tuple[dict, str]:
    """Stages (c), (d), (e) and the big catalogue's round trip; (results, markdown section).
    Quick: 100k vectors only (about 3 minutes the first time, catalogue cached after that); full:
    100k and 1M (about 25 minutes the first time, most of it building the 1M HNSW graph)."""
    from nounlens.models.embed import ModelStack

    t0 = time.perf_counter()
    sizes = QUICK_SIZES if quick else SIZES
    runs = runs or (2 if quick else 3)
    work = Path(work) if work else work_dir()
    models = ModelStack(text="minilm", head="conse")
    real = real_set(data, models, progress)
    queries = eval_queries(real, models, n=100 if quick else 200)
    allq = np.concatenate(list(queries.values()))
    results: dict = {"quick": quick, "sizes": list(sizes), "real": real.counts, "work": str(work), "runs": runs,
                     "build": {}, "search": {}, "loadavg_start": loadavg()}
    for n in sizes:
        path = work / f"catalogue-{n}"
        results["build"][n] = build_catalogue(path, real, models, n, budget, progress=progress, fresh=fresh)
        results["search"][n] = search_bench(path, queries, runs, progress=progress)
    big = work / f"catalogue-{sizes[-1]}"
    results["page"] = page_bench(big, np.concatenate([queries["text"][:50], queries["photo"][:50]]), runs)
    results["open"] = probe(big, allq, runs=3)
    results["disk"] = disk_bench(big)
    results["round_trip"] = exercise(big, real, models, n_add=2_000 if quick else 10_000)
    results["loadavg_end"] = loadavg()
    results["minutes"] = round((time.perf_counter() - t0) / 60, 1)
    results["targets"] = targets(results)
    return results, markdown(results)
