"""The one decode → orient → RGB → resize → crop → thumbnail path that indexing, training and
evaluation share, so a model never sees pixels prepared two different ways.

Imports only Pillow and numpy: it runs in the decoding worker processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MODEL_SIZE = 224  # the backbone's input: short side resized to this, then centre-cropped square
THUMB_SIDE = 72  # catalogue thumbnails: short side in pixels, stored as JPEG
THUMB_QUALITY = 85
MAX_ASPECT = 20  # long side : short side kept; beyond it the centre is cropped (a 10000x1 strip would
# otherwise be resized to 2,240,000x224 pixels, and its thumbnail is wider than JPEG's 65,500 limit)


class ImageError(Exception):
    """A photo that cannot be used; the message is one line naming why."""


@dataclass
class Decoded:
    pixels: np.ndarray  # (MODEL_SIZE, MODEL_SIZE, 3) uint8, RGB
    thumb: bytes  # JPEG, short side THUMB_SIDE
    width: int  # of the oriented original
    height: int


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


@contextlib.contextmanager
def open_regular(path: str | Path) -> Iterator[io.BufferedReader]:
    """A photo file opened for reading, refused with one line unless it is a regular file: stat first, so a
    FIFO or a device is never opened (opening a FIFO blocks until a writer comes), then fstat of what was
    opened (non-blocking), in case the path was swapped in between."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise ImageError(f"not a regular file: {_kind(mode)}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ImageError("vanished before it could be read") from None
    except OSError as e:
        raise ImageError(f"cannot read: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ImageError(f"not a regular file: {_kind(mode)}")
        yield f


def _flatten(img: Image.Image) -> Image.Image:
    """Any mode to RGB: alpha over white, palettes expanded, 16-bit scaled to 8-bit, CMYK converted."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        top = float(arr.max()) or 1.0
        scale = 255.0 / (65535.0 if top > 255 else max(top, 255.0))
        img = Image.fromarray(np.clip(arr * scale, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        img = Image.fromarray(((arr - lo) / ((hi - lo) or 1.0) * 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB") if img.mode != "RGB" else img


def crop_aspect(img: Image.Image, max_aspect: float = MAX_ASPECT) -> Image.Image:
    """The centre of a photo whose long side is over `max_aspect` times its short side, cut to that ratio."""
    w, h = img.size
    if max(w, h) <= max_aspect * min(w, h):
        return img
    keep = max(1, round(max_aspect * min(w, h)))
    return center_crop_box(img, min(w, keep), min(h, keep))


def open_rgb(source: str | Path | bytes, min_side: int = MODEL_SIZE) -> Image.Image:
    """Open a photo as an upright RGB image whose short side is at least `min_side` where it was, and
    whose long side is at most MAX_ASPECT times its short side (the centre of a longer strip).

    JPEG draft mode lets libjpeg decode big photos at 1/2, 1/4 or 1/8 scale, which is most of the
    speed of indexing full-size camera photos. Pillow's decompression-bomb limit is kept, and its
    warning band (1-2x the limit) is treated as an error too. A path must be a regular file (`open_regular`).
    """
    with contextlib.ExitStack() as files:
        f = io.BytesIO(source) if isinstance(source, bytes) else files.enter_context(open_regular(source))
        return _decoded(f, min_side)


def _decoded(f: io.IOBase, min_side: int) -> Image.Image:
    """open_rgb's work on an open file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(f)
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # animated GIF/PNG/WebP: the first frame
            w, h = img.size
            if img.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientations that turn the photo 90 degrees
                w, h = h, w
            original = (w, h)
            if img.format == "JPEG" and img.mode in ("RGB", "L", "CMYK"):
                # draft() scales by powers of two but never below the requested size
                scale = min_side / min(w, h)
                if scale < 0.5:
                    img.draft("RGB" if img.mode != "CMYK" else None, (int(w * scale) + 1, int(h * scale) + 1))
            img = ImageOps.exif_transpose(img)
            img.load()
            img = crop_aspect(_flatten(img))
            img.info["original_size"] = original  # before draft mode shrank it
            return img
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"over the decompression-bomb limit ({Image.MAX_IMAGE_PIXELS} pixels): {e}") from None
    except UnidentifiedImageError:
        raise ImageError("not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as e:
        raise ImageError(f"cannot decode: {e}") from None


def short_side_size(w: int, h: int, side: int) -> tuple[int, int]:
    scale = side / min(w, h)
    return max(side, round(w * scale)), max(side, round(h * scale))


def resize_short_side(img: Image.Image, side: int, resample=Image.Resampling.BICUBIC,
                      like: tuple[int, int] | None = None) -> Image.Image:
    """Short side to `side`; `like` takes the output's shape from another size (an image this one was
    resized from), so a thumbnail made from a smaller copy has the same shape as one made from the photo."""
    size = short_side_size(*(like or img.size), side)
    if size == img.size:
        return img
    return img.resize(size, resample, reducing_gap=3.0 if size[0] < img.size[0] else None)


def center_crop(img: Image.Image, side: int) -> Image.Image:
    return center_crop_box(img, side, side)


def center_crop_box(img: Image.Image, width: int, height: int) -> Image.Image:
    w, h = img.size
    left, top = (w - width) // 2, (h - height) // 2
    return img.crop((left, top, left + width, top + height))


def model_pixels(img: Image.Image, size: int = MODEL_SIZE) -> np.ndarray:
    """Short side to `size`, centre crop, uint8 HWC: what the backbone sees."""
    return np.asarray(center_crop(resize_short_side(img, size), size), dtype=np.uint8)


def make_thumbnail(img: Image.Image, side: int = THUMB_SIDE, quality: int = THUMB_QUALITY,
                   like: tuple[int, int] | None = None) -> bytes:
    """The catalogue's thumbnail: short side `side`, JPEG. Super-resolution trains on exactly this."""
    small = resize_short_side(img, side, Image.Resampling.LANCZOS, like)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def decode(source: str | Path | bytes, size: int = MODEL_SIZE) -> Decoded:
    img = open_rgb(source, min_side=size)
    width, height = img.info.get("original_size", img.size)
    resized = resize_short_side(img, size)
    # the thumbnail from the model-size copy when that is smaller: one resampling of the full photo, not two
    # (1.2 ms of ~5 per photo; the thumbnails differ from ones made from the photo by ~42 dB PSNR)
    thumb = make_thumbnail(resized, like=img.size) if min(resized.size) < min(img.size) else make_thumbnail(img)
    return Decoded(np.asarray(center_crop(resized, size), dtype=np.uint8), thumb, width, height)


def read_and_decode(path: str, size: int = MODEL_SIZE) -> tuple[str, Decoded]:
    """Read a file once (a regular file only: `open_regular`), hash its bytes (blake2b, 16 bytes) and decode it."""
    try:
        with open_regular(path) as f:
            data = f.read()
    except OSError as e:
        raise ImageError(f"cannot read: {e.strerror or e}") from None
    if not data:
        raise ImageError("empty file")
    return hashlib.blake2b(data, digest_size=16).hexdigest(), decode(data, size)


def pil_info() -> dict:
    """Which PIL is loaded: pillow-simd or stock Pillow, and whether the build asked for AVX2 (`nounlens info`)."""
    from nounlens.data.pil_flavour import describe

    pil = describe()
    return {k: pil[k] for k in ("pil", "version", "avx2")}


def decode_job(path: str, size: int = MODEL_SIZE) -> tuple[str, str | None, Decoded | None, str | None]:
    """Worker-process entry point: (path, hash, decoded, None) or (path, None, None, why it failed)."""
    try:
        digest, decoded = read_and_decode(path, size)
        return path, digest, decoded, None
    except ImageError as e:
        return path, None, None, str(e)
    except Exception as e:  # a photo collection must never stop the run
        return path, None, None, f"{type(e).__name__}: {e}"


def square_photo(path: Path, side: int) -> np.ndarray:
    """The photo's short side resized to `side`, centre-cropped square, uint8."""
    img = resize_short_side(open_rgb(str(path), min_side=side), side, Image.Resampling.LANCZOS)
    return np.asarray(center_crop(img, side), dtype=np.uint8)
