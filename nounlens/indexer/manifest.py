"""manifest.json: what a catalogue was made with, beside the LMDB environment that is the truth. It is
written to a temp file then renamed, so a reader never sees half of it and a failed write (a full disk)
leaves no temp file. Its lasting fields are mirrored in LMDB, so a lost manifest can be made again."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from nounlens.data.errors import NounlensError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MIRRORED = ("models", "dim", "created", "faiss", "last_indexed")  # what LMDB keeps a copy of; generation, count live


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise NounlensError(f"cannot read {path}: {e}") from None


def write_json(path: Path, data: dict) -> None:
    """Write-to-temp then rename: a reader never sees half a file, and a failed write leaves no temp file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_manifest(catalogue: Path) -> dict | None:
    """The manifest, or None when it is lost (missing, or not JSON); other errors are one line."""
    try:
        return json.loads((catalogue / MANIFEST).read_text())
    except (FileNotFoundError, ValueError):
        return None
    except OSError as e:
        raise NounlensError(f"cannot read {catalogue / MANIFEST}: {e.strerror}") from None


def mirror(manifest: dict) -> bytes:
    """The fields LMDB keeps a copy of, as stored."""
    return json.dumps({k: manifest[k] for k in MIRRORED if k in manifest}, sort_keys=True).encode()


def rebuilt(mirrored: bytes | None, generation: int, count: int, dim: int | None) -> dict:
    """A manifest made again from LMDB: the mirrored fields (models and all, when an indexer recorded
    them), the live generation and count."""
    data = json.loads(mirrored) if mirrored else {}
    data.setdefault("created", now())
    if dim and "dim" not in data:
        data["dim"] = dim
    return {**data, "format": FORMAT_VERSION, "generation": generation, "count": count, "rebuilt": now()}


def models_unknown(catalogue: Path) -> str:
    """The one-line error for a catalogue with photos whose manifest was lost before LMDB kept its models."""
    return (f"catalogue {catalogue} lost its manifest.json and does not record which models embedded its photos: "
            f"re-project them from their stored features with `nounlens index --reembed --catalogue {catalogue}` "
            "(add --encoder/--head to choose; no photo is read)")
