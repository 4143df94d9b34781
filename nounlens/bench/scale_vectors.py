"""The scale benchmark's vectors: the real ConSE embeddings of the shared data photos, synthetic ones
drawn to match them, and the held-out queries. Why synthetic vectors drawn this way stand in for a
million photos is in nounlens/bench/scale.py."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nounlens.indexer.faiss_sync import tuning_queries
from nounlens.indexer.faiss_tune import exact_knn

SIGMA = 1.0  # logit noise of the synthetic photos
GENERATOR = 1  # bump when the vectors drawn change, so cached catalogues are rebuilt
FOLDERS = (("imagenet-sample", None), ("zeroshot-caltech101", None), ("tiny-imagenet-subset", "val"),
           ("tiny-imagenet-subset", "train"))
N_THUMBS = 256


@dataclass
class RealSet:
    vectors: np.ndarray  # (n, d) unit, ConSE
    logits: np.ndarray  # (n, 1000)
    features: np.ndarray  # (n, 1280) float16
    thumbs: list[bytes]
    counts: dict


def real_set(data: str | Path, models, progress: bool = True) -> RealSet:
    """ConSE vectors, logits and features of every photo in the shared data (features from the cache)."""
    from nounlens.data.datasets import load_labelled
    from nounlens.data.images import decode
    from nounlens.models.features import extract_features

    data = Path(data).expanduser()
    feats, counts = [], {}
    for folder, split in FOLDERS:
        if not (data / folder).is_dir():
            continue
        items = load_labelled(data / folder, split)
        fs = extract_features([it.path for it in items], models.backbone, progress=progress,
                              desc=f"{folder} {split or ''}".strip())
        feats.append(fs.features[0][fs.ok])
        counts[f"{folder}{'/' + split if split else ''}"] = int(fs.ok.sum())
    if not feats:
        from nounlens.data.errors import NounlensError

        raise NounlensError(f"no shared data photos under {data}: give the folder with --data")
    features = np.concatenate(feats)
    f32 = features.astype(np.float32)
    logits = models.backbone.logits_from_features(f32)
    vectors = models.embedder(f32, logits)
    photos = sorted((data / "imagenet-sample").glob("*.JPEG"))[:N_THUMBS] or []
    thumbs = [decode(p).thumb for p in photos] or [b"\xff\xd8\xff\xd9"]
    return RealSet(np.ascontiguousarray(vectors, dtype=np.float32), logits, features, thumbs, counts)


def synthetic(real: RealSet, models, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n new photo vectors: ConSE of a random real photo's logits plus N(0, SIGMA^2); (vectors, seed rows)."""
    seeds = rng.integers(0, len(real.vectors), n)
    noisy = real.logits[seeds] + SIGMA * rng.standard_normal((n, real.logits.shape[1]), dtype=np.float32)
    return np.ascontiguousarray(models.embedder(None, noisy), dtype=np.float32), seeds


def catalogue_vectors(real: RealSet, models, n: int, seed: int = 0, progress: bool = True):
    """The first n vectors of the benchmark's catalogue: the real ones, then synthetic; (vectors, seed rows)."""
    rng = np.random.default_rng(seed)
    d = real.vectors.shape[1]
    out = np.empty((n, d), np.float32)
    seeds = np.empty(n, np.int64)
    m = min(n, len(real.vectors))
    out[:m], seeds[:m] = real.vectors[:m], np.arange(m)
    step = 20_000
    with tqdm(total=n, initial=m, unit="vec", desc="synthetic vectors", disable=not progress, file=sys.stderr) as bar:
        for s in range(m, n, step):
            e = min(n, s + step)
            out[s:e], seeds[s:e] = synthetic(real, models, e - s, rng)
            bar.update(e - s)
    return out, seeds


def eval_queries(real: RealSet, models, n: int = 200, seed: int = 12345) -> dict[str, np.ndarray]:
    """Held-out queries: nouns the tuning did not use, and new synthetic photos."""
    rng = np.random.default_rng(seed)
    nouns = models.nouns
    rows = rng.permutation(np.flatnonzero(nouns.covered))[: 2 * n]
    text = np.ascontiguousarray(nouns.matrix[rows], dtype=np.float32)
    nearest_tuned = exact_knn(text, tuning_queries(models)["text"], 1)[0][:, 0]
    text = text[nearest_tuned < 1 - 1e-6][:n]  # not a noun the index was tuned on
    photo, _ = synthetic(real, models, n, rng)
    return {"text": text, "photo": photo}
