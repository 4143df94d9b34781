"""Plain-Pillow timings that run under any Python with PIL: the naive ingest baseline and resize alone.

Self-contained on purpose (standard library and PIL only, no nounlens import; which PIL is loaded comes
from nounlens/data/pil_flavour.py, loaded by path), so that `nounlens bench --other-python PATH` can run
them under a second environment that has the other Pillow (stock Pillow vs pillow-simd): the naive
baseline always gets stock Pillow, and pillow-simd's own share is measured like for like. Prints one
JSON object.

    python plain_pillow.py resize --runs 5 photo1.jpg photo2.jpg ...
    python plain_pillow.py naive --runs 1 photo1.jpg photo2.jpg ...
"""

from __future__ import annotations

import argparse
import io
import json
import runpy
import statistics
import time
from pathlib import Path

from PIL import Image, ImageOps

MODEL_SIZE, THUMB_SIDE, THUMB_QUALITY = 224, 72, 85  # as nounlens.data.images
SIDES = {"bicubic_224": (MODEL_SIZE, Image.Resampling.BICUBIC), "lanczos_72": (THUMB_SIDE, Image.Resampling.LANCZOS)}
# which PIL is loaded: the one detection (nounlens/data/pil_flavour.py), loaded by path, not imported, so
# that this file still runs under a Python without nounlens
PIL_FLAVOUR = Path(__file__).resolve().parent.parent / "data" / "pil_flavour.py"
flavour = runpy.run_path(str(PIL_FLAVOUR))["flavour"]


def short_side(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    s = side / min(w, h)
    return max(side, round(w * s)), max(side, round(h * s))


def naive(data: bytes) -> tuple[bytes, bytes]:
    """The obvious code: full decode, no draft mode, resize straight from full size, crop, and a thumbnail
    resized from the full photo. Same outputs as nounlens's decode(): 224x224 RGB pixels, a 72-px JPEG."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    big = img.resize(short_side(img.size, MODEL_SIZE), Image.Resampling.BICUBIC)
    left, top = (big.width - MODEL_SIZE) // 2, (big.height - MODEL_SIZE) // 2
    pixels = big.crop((left, top, left + MODEL_SIZE, top + MODEL_SIZE)).tobytes()
    thumb = img.resize(short_side(img.size, THUMB_SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=THUMB_QUALITY)
    return pixels, buf.getvalue()


def naive_all(paths: list[str]) -> None:
    for p in paths:
        naive(Path(p).read_bytes())


def time_naive(paths: list[str], runs: int) -> dict:
    """Wall seconds of the naive loop over `paths` (files read inside the loop), `runs` times."""
    secs = []
    for _ in range(runs):
        t = time.perf_counter()
        naive_all(paths)
        secs.append(time.perf_counter() - t)
    return {"pil": flavour(), "photos": len(paths), "seconds": secs}


def time_resize(paths: list[str], runs: int) -> dict:
    """Full-size decoded photos (decoding is not timed) resized the plain way: no reducing_gap, no draft."""
    import PIL

    images = [ImageOps.exif_transpose(Image.open(p)).convert("RGB") for p in paths]
    megapixels = sum(i.size[0] * i.size[1] for i in images) / 1e6
    out = {"pil": flavour(), "version": PIL.__version__, "photos": len(images), "megapixels": round(megapixels, 2),
           "runs": runs, "ops": {}}
    for op, (side, resample) in SIDES.items():
        sizes = [short_side(i.size, side) for i in images]
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
    parser.add_argument("what", choices=["resize", "naive"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("photos", nargs="+")
    args = parser.parse_args()
    fn = time_resize if args.what == "resize" else time_naive
    print(json.dumps(fn(args.photos, args.runs)))


if __name__ == "__main__":
    main()
