"""Super-resolution pairs: a photo's thumbnail made by the indexer's own code, and the photo at four times
its size. Training, `nounlens eval sr` and the page benchmark all read photos through this."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nounlens.data.images import MODEL_SIZE, THUMB_SIDE, ImageError, decode, make_thumbnail, open_rgb

HOLDOUT_CSV = "highres_512.csv"  # photos a --data folder keeps back for `nounlens eval sr`


@dataclass
class Pair:
    name: str
    lr: np.ndarray  # (h, w, 3) uint8: the thumbnail, decoded
    hr: np.ndarray  # (4h, 4w, 3) uint8: the photo at four times the thumbnail's size


def make_pair(source: str | Path | bytes, scale: int = 4) -> Pair:
    """The thumbnail exactly as the indexer makes it, and the photo at `scale` times its size."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    big = open_rgb(data, min_side=THUMB_SIDE * scale * 2)
    short = min(big.info.get("original_size", big.size))
    if short >= THUMB_SIDE * scale:
        thumb = decode(data).thumb  # the indexer's path, byte for byte
    else:
        side = min(big.size) // scale
        if side < 16:
            raise ImageError(f"too small for a x{scale} pair ({big.size[0]}x{big.size[1]})")
        thumb = make_thumbnail(open_rgb(data, min_side=MODEL_SIZE), side=side)
    lr = Image.open(io.BytesIO(thumb)).convert("RGB")
    hr = big.resize((lr.size[0] * scale, lr.size[1] * scale), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return Pair(name, np.asarray(lr, dtype=np.uint8), np.asarray(hr, dtype=np.uint8))


def holdout_paths(folders: list[str | Path], csv_name: str = HOLDOUT_CSV) -> list[str]:
    """Photos listed (column `path`, relative to the CSV) in `csv_name` in any of the folders."""
    out = []
    for folder in folders:
        table = Path(folder).expanduser() / csv_name
        if table.is_file():
            with open(table, newline="") as f:
                out += [os.path.abspath(table.parent / row["path"]) for row in csv.DictReader(f)]
    return out
