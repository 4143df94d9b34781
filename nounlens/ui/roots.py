"""Which folders the page may index: none unless `nounlens ui --allow-index DIR [DIR ...]` names them.
A folder typed into the side panel is resolved (symlinks, `..`) and must lie under one of them, and so
must every photo the indexer would reach from it through links."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from nounlens.data.errors import NounlensError
from nounlens.data.walk import FileEntry, walk

ALLOW_INDEX_ENV = "NOUNLENS_UI_ALLOW_INDEX"  # how `nounlens ui` hands the roots to the Streamlit script
OFF = "indexing from this page is off: start it with `nounlens ui --allow-index DIR` to allow a folder"


def roots_value(dirs: Iterable[str | Path]) -> str:
    """The environment value for `dirs` (JSON, so any character of a path survives), each resolved;
    a DIR that is not a folder is a one-line error."""
    roots = []
    for d in dirs:
        try:
            real = Path(d).expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            raise NounlensError(f"--allow-index {d}: no such folder") from None
        if not real.is_dir():
            raise NounlensError(f"--allow-index {d}: not a folder")
        roots.append(str(real))
    return json.dumps(roots)


def allowed_roots(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """The roots `nounlens ui` was given; none (indexing off) when unset or unreadable."""
    try:
        roots = json.loads(environ.get(ALLOW_INDEX_ENV) or "[]")
    except ValueError:
        return []
    return [Path(r) for r in roots if isinstance(r, str) and r] if isinstance(roots, list) else []


def inside(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def index_target(folder: str, roots: list[Path]) -> Path:
    """The resolved folder to index, or a NounlensError in one line: indexing off, not a folder, outside
    the roots, or a link inside it that leads out (then nothing is indexed)."""
    if not roots:
        raise NounlensError(OFF)
    try:
        target = Path(folder.strip()).expanduser().resolve(strict=True) if folder.strip() else None
    except (OSError, RuntimeError):
        target = None
    if target is None or not target.is_dir():
        raise NounlensError(f"not a folder: {folder!r}")
    if not inside(target, roots):
        raise NounlensError(f"{folder!r} is outside the folders this page may index")
    for entry in walk([target]):  # the indexer's own walk: every photo it would read
        if isinstance(entry, FileEntry) and not inside(Path(os.path.realpath(entry.path)), roots):
            raise NounlensError(f"{entry.path!r} links outside the folders this page may index; nothing indexed")
    return target
