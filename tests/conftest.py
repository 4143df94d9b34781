"""Shared fixtures: real photos (scikit-image's, and ../shared/data where present), real models."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NOUNLENS_SHARED_DATA", REPO.parent / "shared" / "data"))
needs_shared = pytest.mark.skipif(not (SHARED / "zeroshot-caltech101").is_dir(),
                                  reason=f"../shared/data not found at {SHARED}")


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """Catalogues and the demo gallery go to a temporary home; the model cache stays shared."""
    os.environ["NOUNLENS_HOME"] = str(tmp_path_factory.mktemp("home"))
    os.environ.pop("NOUNLENS_CATALOGUE", None)
    yield


@pytest.fixture(scope="session")
def demo_gallery(tmp_path_factory) -> Path:
    from nounlens.data.demo import write_demo_gallery

    return write_demo_gallery(tmp_path_factory.mktemp("gallery"))


@pytest.fixture(scope="session")
def demo_engine(demo_gallery, tmp_path_factory):
    from nounlens import Engine

    engine = Engine.open(tmp_path_factory.mktemp("demo") / "cat", create=True)
    summary = engine.index([demo_gallery], progress=False)
    assert summary.added == len(list(demo_gallery.iterdir()))
    return engine


def copy_photos(names: list[str], target: Path) -> list[Path]:
    from nounlens.data.demo import skimage_data_dir

    target.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        shutil.copyfile(skimage_data_dir() / name, target / name)
        out.append(target / name)
    return out


def fake_png(width: int, height: int) -> bytes:
    """A PNG header claiming a huge size: Pillow must refuse it before decoding anything."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
