"""Finding photos under folders: stat only (hashing waits until a file is new or its stat changed)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .png .gif .bmp .tif .tiff .webp .ppm .pgm .pbm .pnm .jfif".split())


@dataclass(frozen=True)
class FileEntry:
    path: str  # absolute, as found (symlinks not resolved, so a photo keeps the path the user knows)
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def walk(roots: Iterable[str | Path]) -> Iterator[FileEntry | Skipped]:
    """Yield every image file under `roots` (files or folders), and a Skipped for each image-named
    path that is not a readable regular file (FIFO, socket, broken link, symlink loop)."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        root = os.path.abspath(os.path.expanduser(str(root)))
        try:
            st = os.stat(root)
        except OSError as e:
            yield Skipped(root, f"cannot open: {e.strerror}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, seen_dirs)
        else:
            yield _entry(root, st)


def _entry(path: str, st: os.stat_result) -> FileEntry | Skipped:
    if not stat.S_ISREG(st.st_mode):
        return Skipped(path, "not a regular file")
    return FileEntry(path, st.st_size, st.st_mtime_ns)


def _walk_dir(top: str, seen: set[tuple[int, int]]) -> Iterator[FileEntry | Skipped]:
    try:
        st = os.stat(top)
    except OSError as e:
        yield Skipped(top, f"cannot open folder: {e.strerror}")
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:  # a symlink back up the tree, or the same folder given twice
        return
    seen.add(key)
    try:
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        yield Skipped(top, f"cannot list folder: {e.strerror}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError as e:
            if is_image_name(entry.name):
                yield Skipped(entry.path, f"cannot stat: {e.strerror}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(entry.path, seen)
        elif is_image_name(entry.name):
            yield _entry(entry.path, st)
