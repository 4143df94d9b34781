"""data.mdb checked against its own header before it is mapped. LMDB maps the file and trusts it: pages
past the end of a truncated file kill the process with SIGBUS, with nothing printed. Its two meta pages
say how many pages the last committed transaction used; a shorter file is a one-line error instead."""

from __future__ import annotations

import struct
import time
from pathlib import Path

from nounlens.data.errors import NounlensError

MAGIC = 0xBEEFC0DE
# offsets in a meta page (64-bit LMDB): 16-byte page header, then MDB_meta: magic, version, address,
# map size, the free DB (whose md_pad holds the page size), the main DB, last page number, txn id
_MAGIC_AT, _PAGE_SIZE_AT, _LAST_PAGE_AT = 16, 40, 136
_MIN_PAGE = 512


def needed_bytes(data: bytes) -> int | None:
    """The file size the newest valid meta page needs, from the first two pages' bytes; None when the
    header is not LMDB's (LMDB then says what is wrong itself)."""
    if len(data) < _LAST_PAGE_AT + 16 or struct.unpack_from("<I", data, _MAGIC_AT)[0] != MAGIC:
        return None
    page = struct.unpack_from("<I", data, _PAGE_SIZE_AT)[0]
    if page < _MIN_PAGE or page & (page - 1):
        return None
    metas = []
    for off in (0, page):
        if len(data) >= off + _LAST_PAGE_AT + 16 and struct.unpack_from("<I", data, off + _MAGIC_AT)[0] == MAGIC:
            last, txn = struct.unpack_from("<QQ", data, off + _LAST_PAGE_AT)
            metas.append((txn, last))
    return (max(metas)[1] + 1) * page  # the meta with the newest transaction is the one LMDB uses


def check_size(db_dir: Path, catalogue: Path) -> None:
    """Raise a one-line NounlensError when db_dir/data.mdb is shorter than its header says, or empty (LMDB
    would make a new, empty database of it: every photo silently gone)."""
    path = db_dir / "data.mdb"
    for attempt in range(3):  # a writer committing (or creating the file) right now: look again
        try:
            with open(path, "rb") as f:
                head = f.read(2 * 65536)
                size = f.seek(0, 2)
        except FileNotFoundError:
            return
        except OSError as e:
            raise NounlensError(f"cannot read {path}: {e.strerror}") from None
        need = needed_bytes(head) if size else 1
        if need is None or size >= need:
            return
        time.sleep(0.05 * (attempt + 1))
    said = f"its header says {need:,}" if size else "an LMDB file is never empty"
    raise NounlensError(
        f"{path} is {size:,} bytes but {said}: the file was cut short (a full disk, a failed copy?); restore it "
        f"from a backup, or move {catalogue} aside and index the photos again")
