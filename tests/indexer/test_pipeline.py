"""The indexing pipeline (indexer/pipeline.py) on real photos: incremental runs, bad input, crash safety."""

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import copy_photos, fake_png
from PIL import Image

from nounlens import Engine
from nounlens.indexer import pipeline
from nounlens.indexer.catalogue import Catalogue
from nounlens.indexer.faiss_store import VectorIndex
from nounlens.indexer.faiss_sync import FAISS_FILE, load_vectors

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


# ---- incremental runs -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def incremental(tmp_path_factory):
    """Three photos indexed, indexed again unchanged, then again after one photo was added, one changed,
    one touched (same bytes) and one deleted; the three runs' summaries."""
    tmp_path = tmp_path_factory.mktemp("incremental")
    photos = tmp_path / "photos"
    files = copy_photos(PHOTOS[:3], photos)
    engine = Engine.open(tmp_path / "cat", create=True)
    first = engine.index([photos], progress=False)
    second = engine.index([photos], progress=False)
    copy_photos(PHOTOS[3:4], photos)  # new
    shutil.copyfile(photos / "coffee.png", files[0])  # chelsea.png now holds the coffee photo: changed
    os.utime(files[2], ns=(time.time_ns(), time.time_ns() + 10**9))  # rocket touched, same bytes
    files[1].unlink()  # coffee.png gone
    third = engine.index([photos], progress=False)
    yield SimpleNamespace(tmp_path=tmp_path, photos=photos, engine=engine, runs=(first, second, third))
    engine.catalogue.close()


def test_a_first_run_adds_every_photo(incremental):
    s = incremental.runs[0]
    assert (s.added, s.updated, s.removed, s.skipped) == (3, 0, 0, 0)


def test_a_second_run_finds_every_photo_unchanged(incremental):
    s = incremental.runs[1]
    assert (s.added, s.updated, s.unchanged) == (0, 0, 3)


def test_new_changed_touched_and_gone_photos_are_told_apart(incremental):
    s = incremental.runs[2]
    assert (s.added, s.updated, s.removed, s.unchanged) == (1, 1, 1, 1)


def test_a_changed_photo_is_embedded_again(incremental):
    engine = incremental.engine
    assert Path(engine.search("espresso", 1)[0].path).name == "chelsea.png"  # re-embedded


def test_catalogue_and_faiss_agree_after_an_incremental_run(incremental):
    tmp_path, photos = incremental.tmp_path, incremental.photos
    assert_consistent(tmp_path / "cat", {str(p) for p in photos.iterdir()})


def test_indexing_another_folder_keeps_the_first_folders_photos(tmp_path):
    photos = tmp_path / "photos"
    copy_photos(PHOTOS[:3], photos)
    engine = Engine.open(tmp_path / "cat", create=True)
    engine.index([photos], progress=False)
    other = tmp_path / "other"
    copy_photos(PHOTOS[4:], other)
    engine.index([other], progress=False)  # another folder does not remove the first one's photos
    assert len(engine.catalogue) == 4
    engine.catalogue.close()


# ---- bad input ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_input(tmp_path_factory):
    """Two good photos, odd but valid ones (CMYK, 16-bit, animated) and every kind of bad entry, one of
    them deleted after the walk listed it; the folder and the run's summary."""
    tmp_path = tmp_path_factory.mktemp("bad")
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

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(pipeline, "walk", walk_then_vanish)
        engine = Engine.open(tmp_path / "cat", create=True)
        s = engine.index([photos], progress=False, workers=1)
    yield SimpleNamespace(tmp_path=tmp_path, photos=photos, summary=s)
    engine.catalogue.close()


def test_each_bad_entry_is_skipped(bad_input):
    s = bad_input.summary
    skipped = {Path(p).name: why for p, why in s.skipped_files}
    assert set(skipped) == {"zero.jpg", "truncated.jpg", "text.jpg", "bomb.png", "fifo.jpg", "loopA.jpg",
                            "loopB.jpg", "vanishing.jpg"}


def test_skip_reasons_name_the_bomb_and_the_vanished_file(bad_input):
    skipped = {Path(p).name: why for p, why in bad_input.summary.skipped_files}
    assert "decompression-bomb" in skipped["bomb.png"] and "vanished" in skipped["vanishing.jpg"]


def test_skip_reasons_are_one_line_each(bad_input):
    skipped = {Path(p).name: why for p, why in bad_input.summary.skipped_files}
    assert all("\n" not in why for why in skipped.values())


def test_odd_but_valid_photos_are_added(bad_input):
    s = bad_input.summary
    assert s.added == 5 and s.skipped == 8  # 2 photos + cmyk + 16-bit + animated


def test_catalogue_and_faiss_agree_after_bad_input(bad_input):
    tmp_path, photos = bad_input.tmp_path, bad_input.photos
    assert_consistent(tmp_path / "cat", {str(photos / n) for n in
                                         ["chelsea.png", "coffee.png", "cmyk.jpg", "sixteen.png", "animated.gif"]})


# ---- crash safety -------------------------------------------------------------------------------------------
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
