"""Shared by the UI tests: a catalogue of the scikit-image demo gallery, built once per test module."""

from __future__ import annotations

import os
import socket
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

APP = Path(__file__).resolve().parents[1] / "nounlens" / "ui" / "app.py"


def build_demo_catalogue(root: Path) -> tuple[Path, Path]:
    """(catalogue, gallery): the 18 demo photos indexed with the default models, in the test process."""
    from nounlens.data.demo import write_demo_gallery
    from nounlens.search.engine import Engine

    gallery = write_demo_gallery(root / "gallery")
    catalogue = root / "catalogue"
    engine = Engine.open(catalogue, create=True)
    summary = engine.index([gallery], workers=0, progress=False)
    assert summary.added >= 15, summary.line()
    engine.catalogue.close()
    return catalogue, gallery


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
