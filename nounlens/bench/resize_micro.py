"""Resize alone, in whatever Python runs this file: pillow-simd's own share of the ingest speed-up.

Self-contained on purpose (standard library and PIL only, no nounlens import), so that `nounlens bench
--other-python PATH` can run it under a second environment that has the other Pillow (stock Pillow vs
pillow-simd) and compare like with like. Prints one JSON object.

    python resize_micro.py --runs 5 photo1.jpg photo2.jpg ...
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import statistics
import time
from pathlib import Path

from PIL import Image, ImageOps

SIDES = {"bicubic_224": (224, Image.Resampling.BICUBIC), "lanczos_72": (72, Image.Resampling.LANCZOS)}


def flavour() -> str:
    import PIL

    here = Path(PIL.__file__).resolve()
    for dist in md.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name in ("pillow", "pillow-simd"):
            try:
                if Path(dist.locate_file("PIL/__init__.py")).resolve() == here:
                    return "pillow-simd" if name == "pillow-simd" else "Pillow"
            except (OSError, TypeError):
                continue
    return "unknown"


def short_side(img: Image.Image, side: int) -> tuple[int, int]:
    w, h = img.size
    s = side / min(w, h)
    return max(side, round(w * s)), max(side, round(h * s))


def measure(paths: list[str], runs: int) -> dict:
    """Full-size decoded photos (decoding is not timed) resized the plain way: no reducing_gap, no draft."""
    import PIL

    images = [ImageOps.exif_transpose(Image.open(p)).convert("RGB") for p in paths]
    megapixels = sum(i.size[0] * i.size[1] for i in images) / 1e6
    out = {"pil": flavour(), "version": PIL.__version__, "photos": len(images), "megapixels": round(megapixels, 2),
           "runs": runs, "ops": {}}
    for op, (side, resample) in SIDES.items():
        sizes = [short_side(i, side) for i in images]
        images[0].resize(sizes[0], resample)  # warm up
        secs = []
        for _ in range(runs):
            t = time.perf_counter()
            for img, size in zip(images, sizes, strict=True):
                img.resize(size, resample)
            secs.append(time.perf_counter() - t)
        med = statistics.median(secs)
        out["ops"][op] = {"ms_per_photo": round(1e3 * med / len(images), 3),
                          "megapixels_per_s": round(megapixels / med, 1), "seconds": [round(s, 4) for s in secs]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("photos", nargs="+")
    args = parser.parse_args()
    print(json.dumps(measure(args.photos, args.runs)))


if __name__ == "__main__":
    main()
