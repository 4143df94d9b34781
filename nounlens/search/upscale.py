"""Super-resolved thumbnails for results pages: x4 by the shipped network, cached, and never a
failed page: if the weights are missing or the network fails, bicubic with a warning."""

from __future__ import annotations

import hashlib
import io
import os
import statistics
import threading
import time
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from nounlens.data.errors import NounlensError
from nounlens.data.images import ImageError, decode

SCALE = 4
CACHE_SIZE = 512  # about 512 x 330 KB of pixels at 288 x 384: enough for many result pages


class SRFallbackWarning(UserWarning):
    """Super-resolution could not run; thumbnails were upscaled bicubically instead."""


def thumb_pixels(thumb: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(thumb)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def bicubic(pixels: np.ndarray) -> np.ndarray:
    h, w = pixels.shape[:2]
    return np.asarray(Image.fromarray(pixels).resize((w * SCALE, h * SCALE), Image.Resampling.BICUBIC))


def encode(pixels: np.ndarray, fmt: str = "JPEG", quality: int = 92) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, fmt, **({"quality": quality} if fmt.upper() in ("JPEG", "JPG") else {}))
    return out.getvalue()


def thumbnail_of_path(path: str | Path) -> bytes:
    """The thumbnail of a photo exactly as the indexer would store it."""
    try:
        return decode(str(path)).thumb
    except ImageError as e:
        raise NounlensError(f"cannot use {path}: {e}") from None
    except OSError as e:
        raise NounlensError(f"cannot read {path}: {e.strerror or e}") from None


class Upscaler:
    """x4 thumbnails, LRU-cached by the thumbnail's bytes. Thread-safe (the UI calls it from threads)."""

    def __init__(self, weights: str | Path | None = None, cache_size: int = CACHE_SIZE, threads: int | None = None):
        self.weights = weights
        self.cache_size = cache_size
        self.threads = threads
        self.method = None  # "sr" or "bicubic" once tried
        self._net = None
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _network(self):
        if self.method is None:
            from nounlens.models.sr import load_weights

            try:
                self._net, _ = load_weights(self.weights)
                self.method = "sr"
            except (NounlensError, ImportError) as e:
                self._fallback(f"super-resolution unavailable ({e})")
        return self._net

    def _fallback(self, why: str) -> None:
        warnings.warn(f"{why}; thumbnails are upscaled bicubically", SRFallbackWarning, stacklevel=3)
        self.method, self._net = "bicubic", None

    def _run(self, images: list[np.ndarray]) -> list[np.ndarray]:
        net = self._network()
        if net is not None:
            from nounlens.models.sr import upscale
            from nounlens.models.threads import torch_threads

            try:
                with torch_threads(self.threads or None):
                    return upscale(net, images)
            except Exception as e:  # a results page must never fail on its pictures
                self._fallback(f"super-resolution failed ({type(e).__name__}: {e})")
        return [bicubic(im) for im in images]

    def pixels(self, thumbs: list[bytes]) -> list[np.ndarray]:
        """uint8 (4h, 4w, 3) for each JPEG thumbnail; the uncached ones go through in one call."""
        keys = [hashlib.blake2b(t, digest_size=16).digest() for t in thumbs]
        with self._lock:
            todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
            if todo:
                first = {k: t for k, t in zip(keys, thumbs, strict=True)}
                for k, up in zip(todo, self._run([thumb_pixels(first[k]) for k in todo]), strict=True):
                    self._cache[k] = up
            out = []
            for k in keys:
                self._cache.move_to_end(k)
                out.append(self._cache[k])
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def jpeg(self, thumb: bytes, fmt: str = "JPEG") -> bytes:
        return encode(self.pixels([thumb])[0], fmt)


PAGE = 20  # thumbnails on one results page, as eval sr and the page benchmark time it


def page_seconds(net, thumbs: list[np.ndarray], threads: int = 2, repeats: int = 5, bf16: bool | None = None) -> dict:
    """Wall time to upscale one results page of thumbnails (mixed shapes, as a real page has); `bf16` as in
    models.sr.upscale (None: where the CPU has it natively)."""
    from nounlens.models.sr import native_bf16, upscale
    from nounlens.models.threads import torch_threads

    load = os.getloadavg()[0]  # a busy shared machine shows here, not hidden in the figure
    with torch_threads(threads):
        upscale(net, thumbs, bf16)  # warm-up: allocator, oneDNN kernels
        times, cpu = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            upscale(net, thumbs, bf16)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    return {"thumbnails": len(thumbs), "threads": threads, "bf16": native_bf16() if bf16 is None else bf16,
            "median_s": round(statistics.median(times), 3),
            "best_s": round(min(times), 3), "load_1min": round(load, 2),
            # CPU seconds over the threads: the wall time on idle cores, if the threads scale
            "cpu_s_per_thread": round(statistics.median(cpu) / threads, 3),
            "shapes": sorted({f"{t.shape[1]}x{t.shape[0]}" for t in thumbs})}
