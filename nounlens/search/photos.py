"""A catalogue photo sized for the screen: the UI shows the photo a result points to, never an
arbitrary path, and never ships a 40-megapixel original to the browser."""

from __future__ import annotations

import io

from nounlens.data.errors import NounlensError
from nounlens.data.images import ImageError, open_rgb

DISPLAY_SIDE = 1024
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # the UI refuses bigger uploads before decoding them


def display_jpeg(path: str, max_side: int = DISPLAY_SIDE, quality: int = 88) -> bytes:
    """The photo at `path`, EXIF-upright, its long side at most `max_side`, as JPEG bytes."""
    try:
        img = open_rgb(path, min_side=max_side)
    except ImageError as e:
        raise NounlensError(f"cannot show {path}: {e}") from None
    except OSError as e:
        raise NounlensError(f"cannot read {path}: {e.strerror or e}") from None
    img.thumbnail((max_side, max_side))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def check_upload(name: str, data: bytes) -> None:
    """One-line errors for uploads that are empty or too big, before any decoding is tried."""
    if not data:
        raise NounlensError(f"{name} is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise NounlensError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
