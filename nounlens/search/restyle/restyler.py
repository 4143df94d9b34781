"""Restyling photos for the CLI, the UI and the API: one forward pass of a trained stylizer (cached
per weights file), or pixel optimisation with any painting (slow: about a minute at 384 px)."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

FAST_SIZE = 512  # long side for the one-pass stylizer
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


@dataclass
class Restyled:
    image: np.ndarray  # uint8 (h, w, 3)
    method: str  # "stylizer:<name>" or "optimisation"
    seconds: float
    losses: dict = field(default_factory=dict)
    trained: dict = field(default_factory=dict)

    def encode(self, fmt: str = "JPEG", quality: int = 92) -> bytes:
        out = io.BytesIO()
        Image.fromarray(self.image).save(out, fmt, **({"quality": quality} if fmt.upper() == "JPEG" else {}))
        return out.getvalue()

    def as_dict(self) -> dict:
        h, w = self.image.shape[:2]
        return {"method": self.method, "width": w, "height": h, "seconds": self.seconds, "losses": self.losses}


class Restyler:
    """Thread-safe (the UI calls it from threads): one lock around the networks and torch's thread count."""

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._nets: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def _net(self, model: str | Path | None):
        from nounlens.models.stylizer import load_weights, resolve

        key = str(resolve(model))
        if key not in self._nets:
            self._nets[key] = load_weights(model)
        return self._nets[key]

    def fast(self, image: str | Path | bytes | np.ndarray, model: str | Path | None = None,
             size: int | None = FAST_SIZE, colour: str = "none", mask: str | Path | np.ndarray | None = None,
             progress: bool = False) -> Restyled:
        """One pass of a trained stylizer ("irises", the shipped one, or a weights file). colour
        "luminance" keeps the photo's chroma; `mask` (1 = styled) keeps the photo elsewhere."""
        from nounlens.data.errors import NounlensError
        from nounlens.models.stylizer import one_pass, resolve
        from nounlens.models.threads import torch_threads
        from nounlens.search.restyle.colour import keep_chroma
        from nounlens.search.restyle.optimise import load_rgb, make_mask, to_uint8

        if colour not in ("none", "luminance"):
            raise NounlensError(f"--colour {colour} needs --style (a stylizer can keep the photo's chroma: luminance)")
        photo = to_uint8(load_rgb(image, size))
        with self._lock:
            net, trained = self._net(model)
            with torch_threads(self.threads or 0):
                start = time.perf_counter()
                out = one_pass(net, photo)
                seconds = time.perf_counter() - start
        if colour == "luminance" or mask is not None:
            p, y = photo.astype(np.float32) / 255.0, out.astype(np.float32) / 255.0
            y = keep_chroma(y, p) if colour == "luminance" else y
            if mask is not None:
                m = make_mask(mask, *photo.shape[:2])[..., None]
                y = m * y + (1 - m) * p
            out = to_uint8(y)
        return Restyled(out, f"stylizer:{resolve(model).stem}", round(seconds, 3), trained=trained)

    def optimise(self, image: str | Path | bytes | np.ndarray, style: str | Path | bytes | np.ndarray, cfg=None,
                 mask: str | Path | np.ndarray | None = None, style2: str | Path | bytes | np.ndarray | None = None,
                 progress: bool = False) -> Restyled:
        """Gatys et al.'s pixel optimisation with the painting `style` (settings: optimise.GatysConfig)."""
        from nounlens.search.restyle.optimise import GatysConfig, transfer

        cfg = cfg or GatysConfig(threads=self.threads or 0)
        with self._lock:
            r = transfer(image, style, cfg, mask=mask, style2=style2, progress=progress)
        return Restyled(r["image"], "optimisation", r["seconds"], losses=r["losses"])


def image_format(path: str | Path) -> str:
    """PIL format name for an output file, or NounlensError."""
    from nounlens.data.errors import NounlensError

    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise NounlensError(f"--out {path}: give a .png, .jpg or .webp file")
    return fmt
