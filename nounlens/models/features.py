"""Backbone features computed once per photo list and cached on disk, so that training a head or
re-running the evaluation never decodes a photo twice (an epoch over cached features takes seconds).

View 0 of every photo is exactly what the indexer sees (data.images: resize short side, centre crop).
Views 1.. are random crops and flips, seeded per photo and view, so a cache is reproducible.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing as mp
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from nounlens.data.images import ImageError, model_pixels, open_rgb
from nounlens.data.paths import cache_dir

CACHE_VERSION = 1
CROP_AREA = (0.35, 1.0)  # fraction of the image a random crop keeps
CROP_ASPECT = (3 / 4, 4 / 3)


@dataclass
class FeatureSet:
    """Pooled features of a list of photos: `features[v, i]` is view v of photo i."""

    paths: list[str]
    features: np.ndarray  # (views, N, 1280) float16, as the catalogue stores them
    ok: np.ndarray  # (N,) bool: False where the photo could not be decoded (its rows are zero)
    backbone: str

    @property
    def views(self) -> int:
        return self.features.shape[0]

    def center(self) -> np.ndarray:
        """float32 (N, 1280): the view the indexer computes."""
        return self.features[0].astype(np.float32)


def random_crop(img: Image.Image, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random-resized crop (area and aspect jittered) with a coin-flip mirror, as uint8 HWC."""
    w, h = img.size
    for _ in range(10):
        area = w * h * rng.uniform(*CROP_AREA)
        aspect = np.exp(rng.uniform(np.log(CROP_ASPECT[0]), np.log(CROP_ASPECT[1])))
        cw, ch = round(np.sqrt(area * aspect)), round(np.sqrt(area / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            break
    else:
        cw = ch = min(w, h)
    left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    crop = img.resize((size, size), Image.Resampling.BICUBIC, box=(left, top, left + cw, top + ch))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(crop, dtype=np.uint8)


def photo_views(path: str, size: int, views: int, seed: int) -> np.ndarray | None:
    """(views, size, size, 3) uint8, or None when the photo cannot be decoded."""
    try:
        img = open_rgb(path, min_side=size)
    except ImageError:
        return None
    out = [model_pixels(img, size)]
    if views > 1:
        digest = hashlib.blake2b(os.path.basename(path).encode(), digest_size=8).digest()
        rng = np.random.default_rng([seed, int.from_bytes(digest, "little")])
        out += [random_crop(img, size, rng) for _ in range(views - 1)]
    return np.stack(out)


def cache_key(paths: Sequence[str], backbone_digest: str, size: int, views: int, seed: int) -> str:
    h = hashlib.sha256(f"{CACHE_VERSION}|{backbone_digest}|{size}|{views}|{seed}".encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"|{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def extract_features(paths: Sequence[str], backbone=None, views: int = 1, seed: int = 0, batch: int = 64,
                     workers: int | None = None, progress: bool = True, desc: str = "features") -> FeatureSet:
    """Features of every photo in `paths` (and `views - 1` augmented views), from the disk cache when
    the same files were seen before with the same backbone."""
    from nounlens.models.backbone import Backbone

    backbone = backbone or Backbone()
    paths = [os.path.abspath(p) for p in paths]  # one cache entry however a folder was named
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        from nounlens.data.errors import NounlensError

        raise NounlensError(f"{len(missing)} photos not found, e.g. {missing[0]}")
    tag = cache_key(paths, backbone.digest, backbone.size, views, seed)
    path = cache_dir() / "features" / f"{backbone.name}-v{views}-{tag}.npz"
    if path.exists():
        with np.load(path) as z:
            return FeatureSet(paths, z["features"], z["ok"], backbone.name)
    feats = np.zeros((views, len(paths), 1280), dtype=np.float16)
    ok = np.zeros(len(paths), dtype=bool)
    pending: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        pixels = np.concatenate([px for _, px in pending])
        f, _ = backbone(pixels)
        f = f.reshape(len(pending), views, -1)
        for j, (i, _) in enumerate(pending):
            feats[:, i] = f[j]
            ok[i] = True
        pending.clear()

    job = functools.partial(photo_views, size=backbone.size, views=views, seed=seed)
    bar = tqdm(total=len(paths), unit="photo", desc=desc, disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for i, px in enumerate(_map(job, paths, workers)):
        bar.update(1)
        if px is None:
            tqdm.write(f"skipped {paths[i]}: cannot decode", file=sys.stderr)
            continue
        pending.append((i, px))
        if len(pending) * views >= batch:
            flush()
    flush()
    bar.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.npz")
    np.savez(tmp, features=feats, ok=ok)
    tmp.replace(path)
    return FeatureSet(paths, feats, ok, backbone.name)


def _map(job, paths: list[str], workers: int | None, window: int = 256):
    """Decode in worker processes (spawned: the parent holds ONNX Runtime threads), in order, at most
    `window` photos ahead of the model (imap alone would queue every decoded photo in memory)."""
    workers = workers if workers is not None else max(1, min(4, (os.cpu_count() or 2) - 1))
    if workers == 0 or len(paths) < 32:
        yield from map(job, paths)
        return
    with mp.get_context("spawn").Pool(workers) as pool:
        ahead = pool.imap(job, paths[:window], chunksize=8)
        for s in range(window, len(paths) + window, window):
            current = ahead
            if s < len(paths):
                ahead = pool.imap(job, paths[s:s + window], chunksize=8)
            yield from current


def feature_cache_dir() -> Path:
    return cache_dir() / "features"
