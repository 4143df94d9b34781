"""Labelled photo collections for training and evaluation: every label is a WordNet noun id (wnid).

Three layouts are read, so a user's own labelled photos train a head without conversion:
- any folder with a `labels.csv` (columns `path,wnid`, paths relative to the folder; an optional
  `split` column selects train/val),
- ImageNet-style class folders, `[<split>/]<wnid>/**/*.JPEG`,
- files named `<wnid>_*` anywhere under the folder.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

from nounlens.data.errors import NounlensError
from nounlens.data.walk import is_image_name

WNID = re.compile(r"^n\d{8}$")
WNID_PREFIX = re.compile(r"^(n\d{8})[_\-.]")


@dataclass(frozen=True)
class Labelled:
    path: str  # absolute
    wnid: str


def _images_under(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        out += [Path(dirpath) / f for f in sorted(filenames) if is_image_name(f)]
    return out


def _from_csv(root: Path, split: str | None) -> list[Labelled]:
    with open(root / "labels.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"path", "wnid"} <= set(reader.fieldnames):
            raise NounlensError(f"{root / 'labels.csv'}: needs the columns path,wnid")
        rows = list(reader)
    if split is not None:
        if rows and "split" not in rows[0]:
            raise NounlensError(f"{root / 'labels.csv'} has no split column; drop the split ({split!r})")
        rows = [r for r in rows if r["split"] == split]
    return [Labelled(os.path.abspath(root / r["path"]), r["wnid"].strip()) for r in rows]


def _from_class_folders(root: Path) -> list[Labelled]:
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and WNID.match(p.name)):
        out += [Labelled(os.path.abspath(p), d.name) for p in _images_under(d)]
    return out


def _from_names(root: Path) -> list[Labelled]:
    out = []
    for p in _images_under(root):
        m = WNID_PREFIX.match(p.name)
        if m:
            out.append(Labelled(os.path.abspath(p), m.group(1)))
    return out


def load_labelled(root: str | Path, split: str | None = None) -> list[Labelled]:
    """The labelled photos under `root` in a stable order, from whichever layout it uses."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise NounlensError(f"no such folder: {root}")
    if (root / "labels.csv").exists():
        items = _from_csv(root, split)
    else:
        base = root / split if split and (root / split).is_dir() else root
        items = _from_class_folders(base) or _from_names(base)
    if not items:
        raise NounlensError(f"no labelled photos in {root}{f' (split {split})' if split else ''}: expected "
                            "labels.csv (path,wnid), <wnid>/ class folders, or files named <wnid>_*")
    bad = sorted({it.wnid for it in items if not WNID.match(it.wnid)})
    if bad:
        raise NounlensError(f"{root}: labels must be WordNet noun ids like n01440764, not {bad[0]!r}")
    return items


def read_classes(path: str | Path) -> list[dict]:
    """A classes.csv as a list of rows (the Caltech zero-shot gallery's class table)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
