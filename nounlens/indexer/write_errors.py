"""A write that fails part-way, above all on a full disk, is reported once, in one line, as the first
error it met (not as whatever a clean-up step raised after it). What was committed stays usable, and a
re-run after freeing space completes."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import lmdb

from nounlens.data.errors import NounlensError

DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
LOW_SPACE = 16 << 20  # bytes free below which a failed write is taken for a full disk
_WORDS = ("no space left", "disk quota", "file too large")


def disk_full(e: BaseException, where: Path) -> bool:
    """Whether `e`, raised while writing under `where`, comes from a full disk. LMDB and FAISS do not
    always keep the errno (LMDB has reported a full tmpfs as an I/O error), so the free space decides too."""
    if isinstance(e, OSError) and e.errno in DISK_FULL:
        return True
    if any(w in str(e).lower() for w in _WORDS):
        return True
    if not isinstance(e, OSError | lmdb.Error):
        return False  # a RuntimeError from a model is not a write error, however full the disk
    try:
        return shutil.disk_usage(where).free < LOW_SPACE
    except OSError:
        return False


@contextmanager
def reported_write_errors(catalogue: Path, committed: Callable[[], int]) -> Iterator[None]:
    """Turn a full disk met inside the block into one line: "disk full while writing C: N photos committed;
    free space and re-run" (`committed()`: what this run has committed so far)."""
    try:
        yield
    except (OSError, lmdb.Error, RuntimeError) as e:
        if not disk_full(e, catalogue):
            raise
        raise NounlensError(f"disk full while writing {catalogue}: {committed():,} photos committed; "
                            "free space and re-run") from None
