"""Checkpoints of a training run, for DeViSE, super-resolution and the stylizer alike: one torch file
written atomically (a killed run never leaves half a file), and one rule for resuming from it.

The rule: a checkpoint resumes only a run with the same settings, less those a run may change
between resumes (`run_only`, e.g. how many steps to go on to). A checkpoint made with other settings
is an error that names the file, never silently replaced: the user deletes it or passes --no-resume,
and no finished work is thrown away unasked.
"""

from __future__ import annotations

import os
from pathlib import Path

from nounlens.data.errors import NounlensError


def identity(config: dict, run_only: tuple[str, ...] = ()) -> dict:
    """The settings a checkpoint must share with the run that resumes it."""
    return {k: v for k, v in config.items() if k not in run_only}


def save(path: Path, blob: dict) -> None:
    """torch.save to a temporary file beside `path`, then rename it over `path`."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(blob, tmp)
    tmp.replace(path)


def load(path: Path, config: dict, run_only: tuple[str, ...] = ()) -> dict:
    """The checkpoint at `path`, or NounlensError when it was made with other settings than `config`."""
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=False)
    saved = blob.get("config") if isinstance(blob, dict) else None
    if not isinstance(saved, dict) or identity(saved, run_only) != identity(config, run_only):
        raise NounlensError(f"{path} was made with other settings; delete it or use --no-resume")
    return blob
