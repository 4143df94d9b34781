"""Incremental indexing, bad input, and crash safety, on real photos."""

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_photos, fake_png
from PIL import Image

from nounlens import Engine
from nounlens.indexer import pipeline
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.pipeline import FAISS_FILE, load_vectors
from nounlens.indexer.vectors import VectorIndex

PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png"]


def assert_consistent(cat_path: Path, expected_paths: set[str]) -> None:
    """Exactly one record per photo, and FAISS (as loaded) agrees with LMDB."""
    cat = Catalogue.open(cat_path, readonly=True)
    try:
        records = list(cat.iter_records())
        assert sorted(r.path for r in records) == sorted(expected_paths)
        ids, vecs = cat.vectors()
        assert sorted(ids) == sorted(r.id for r in records)
        index = load_vectors(cat, save=False)
        assert len(index) == len(ids) and index.generation == cat.generation()
        _, found = index.search(vecs, 1)
        assert np.array_equal(found[:, 0], ids)
    finally:
        cat.close()


def test_incremental_add_update_remove(tmp_path):
    photos = tmp_path / "photos"
    files = copy_photos(PHOTOS[:3], photos)
    engine = Engine.open(tmp_path / "cat", create=True)
    s = engine.index([photos], progress=False)
    assert (s.added, s.updated, s.removed, s.skipped) == (3, 0, 0, 0)
    s = engine.index([photos], progress=False)
    assert (s.added, s.updated, s.unchanged) == (0, 0, 3)

    copy_photos(PHOTOS[3:4], photos)  # new
    shutil.copyfile(photos / "coffee.png", files[0])  # chelsea.png now holds the coffee photo: changed
    os.utime(files[2], ns=(time.time_ns(), time.time_ns() + 10**9))  # rocket touched, same bytes
    files[1].unlink()  # coffee.png gone
    s = engine.index([photos], progress=False)
    assert (s.added, s.updated, s.removed, s.unchanged) == (1, 1, 1, 1)
    assert Path(engine.search("espresso", 1)[0].path).name == "chelsea.png"  # re-embedded
    assert_consistent(tmp_path / "cat", {str(p) for p in photos.iterdir()})

    other = tmp_path / "other"
    copy_photos(PHOTOS[4:], other)
    engine.index([other], progress=False)  # another folder does not remove the first one's photos
    assert len(engine.catalogue) == 4




def test_bad_input_is_reported_and_skipped(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    good = copy_photos(PHOTOS[:2], photos)
    chelsea = Image.open(good[0]).convert("RGB")
    jpeg = io.BytesIO()
    chelsea.save(jpeg, "JPEG")
    (photos / "zero.jpg").write_bytes(b"")
    (photos / "truncated.jpg").write_bytes(jpeg.getvalue()[:3000])
    (photos / "text.jpg").write_text("I am not a photo\n")
    (photos / "bomb.png").write_bytes(fake_png(40000, 40000))
    chelsea.convert("CMYK").save(photos / "cmyk.jpg")
    Image.fromarray(np.asarray(chelsea.convert("L"), dtype=np.uint16) * 257).save(photos / "sixteen.png")
    chelsea.save(photos / "animated.gif", save_all=True, append_images=[chelsea.rotate(90)])
    os.mkfifo(photos / "fifo.jpg")
    (photos / "dir.jpg").mkdir()
    os.symlink(photos / "loopA.jpg", photos / "loopB.jpg")
    os.symlink(photos / "loopB.jpg", photos / "loopA.jpg")
    vanishing = photos / "vanishing.jpg"
    vanishing.write_bytes(jpeg.getvalue())

    real_walk = pipeline.walk

    def walk_then_vanish(roots):
        found = list(real_walk(roots))
        vanishing.unlink()  # gone after it was listed, before it is read
        return iter(found)

    monkeypatch.setattr(pipeline, "walk", walk_then_vanish)
    engine = Engine.open(tmp_path / "cat", create=True)
    s = engine.index([photos], progress=False, workers=1)
    skipped = {Path(p).name: why for p, why in s.skipped_files}
    assert set(skipped) == {"zero.jpg", "truncated.jpg", "text.jpg", "bomb.png", "fifo.jpg", "loopA.jpg",
                            "loopB.jpg", "vanishing.jpg"}
    assert "decompression-bomb" in skipped["bomb.png"] and "vanished" in skipped["vanishing.jpg"]
    assert all("\n" not in why for why in skipped.values())
    assert s.added == 5 and s.skipped == 8  # 2 photos + cmyk + 16-bit + animated
    assert_consistent(tmp_path / "cat", {str(photos / n) for n in
                                         ["chelsea.png", "coffee.png", "cmyk.jpg", "sixteen.png", "animated.gif"]})


@pytest.fixture(scope="module")
def big_gallery(tmp_path_factory, demo_gallery):
    """~240 real photos (the demo photos, varied by crop and flip so each has its own bytes)."""
    out = tmp_path_factory.mktemp("big")
    for src in sorted(demo_gallery.iterdir()):
        img = Image.open(src).convert("RGB")
        w, h = img.size
        for j in range(14):
            variant = img.crop((j, j, w - j, h - j))
            if j % 2:
                variant = variant.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            variant.save(out / f"{src.stem}-{j}.jpg", quality=88)
    return out


def wait_for_generation(cat: Path, generation: int, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if generation == 0:
            return
        if (cat / "manifest.json").exists() and (cat / "db" / "data.mdb").exists():
            c = Catalogue.open(cat, readonly=True)
            try:
                if c.generation() >= generation:
                    return
            finally:
                c.close()
        time.sleep(0.02)


def test_sigkill_at_any_moment_loses_at_most_a_batch(tmp_path, big_gallery):
    cat = tmp_path / "cat"
    expected = {str(p) for p in big_gallery.iterdir()}
    cmd = [sys.executable, "-m", "nounlens", "index", str(big_gallery), "--catalogue", str(cat),
           "--batch-size", "8", "--workers", "1"]
    counts = []
    # kill before anything is written, right after a batch commits, and part-way into a later batch
    for generation, extra_s in ((0, 0.5), (3, 0.0), (12, 0.15)):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_generation(cat, generation, proc)
        time.sleep(extra_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not (cat / "manifest.json").exists():
            continue
        engine = Engine.open(cat)  # opens and answers searches after the kill
        engine.search("cat", 3)
        counts.append(len(engine.catalogue))
        stamp = VectorIndex.load(cat / FAISS_FILE)
        assert stamp is None or stamp.generation <= engine.catalogue.generation()
        engine.catalogue.close()
    print("records after each kill:", counts, "of", len(expected))
    assert any(0 < c < len(expected) for c in counts), counts  # at least one kill landed mid-run
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert_consistent(cat, expected)
