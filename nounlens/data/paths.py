"""Where nounlens keeps things on disk; every path can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


WEIGHTS = Path(__file__).resolve().parent.parent / "weights"  # the shipped weights, inside the package


def home() -> Path:
    """Per-user data directory (XDG): the default catalogue and the demo gallery live here."""
    if "NOUNLENS_HOME" in os.environ:
        return Path(os.environ["NOUNLENS_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "nounlens"


def cache_dir() -> Path:
    """Derived, rebuildable files shared by all catalogues: noun tables, noun vectors, ONNX exports."""
    if "NOUNLENS_CACHE" in os.environ:
        path = Path(os.environ["NOUNLENS_CACHE"]).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "nounlens"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_catalogue() -> Path:
    return Path(os.environ.get("NOUNLENS_CATALOGUE") or home() / "catalogue").expanduser()


def file_digest(path: str | Path) -> str:
    """sha256 of a (model) file, memoised on disk by path, size and mtime: hashing 90 MB per start
    would cost more than the search."""
    import hashlib
    import json

    path = Path(path)
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo_path = cache_dir() / "digests.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key not in memo:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        memo[key] = h.hexdigest()
        tmp = memo_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(memo))
        tmp.replace(memo_path)
    return memo[key]
