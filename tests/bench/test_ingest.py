"""Stage (a), ingest, and its plain-Pillow baseline: they run, return sane structures and compare like
with like."""

import io
import json
import sys

import numpy as np
import pytest
from PIL import Image

from nounlens.bench import ingest, plain_pillow
from nounlens.bench.report import loaded_pil
from nounlens.data.images import MODEL_SIZE, THUMB_SIDE, decode_job, pil_info


def test_naive_baseline_crops_the_same_pixels_as_the_indexer(photos):
    for path in photos[:4]:
        pixels, _ = ingest.naive(open(path, "rb").read())
        ours = decode_job(path)[2]
        naive_px = np.frombuffer(pixels, np.uint8).reshape(MODEL_SIZE, MODEL_SIZE, 3)
        assert np.abs(naive_px.astype(int) - ours.pixels.astype(int)).mean() < 6  # same crop, resampled alike


def test_naive_baseline_makes_the_same_thumbnail_as_the_indexer(photos):
    for path in photos[:4]:
        _, thumb = ingest.naive(open(path, "rb").read())
        ours = decode_job(path)[2]
        a, b = Image.open(io.BytesIO(thumb)), Image.open(io.BytesIO(ours.thumb))
        assert a.format == b.format == "JPEG" and a.size == b.size and min(a.size) == THUMB_SIDE


@pytest.fixture(scope="module")
def measured(photos) -> dict:
    return ingest.measure(photos, runs=1, workers=1, other_python=sys.executable)  # same PIL: no second naive


def test_ingest_measures_all_three_ways(measured, photos):
    here = f"naive_{loaded_pil()['pil']}"
    for way in (here, "one_process", "pool"):
        assert measured[way]["n"] == len(photos) and measured[way]["per_s"] > 0 and len(measured[way]["seconds"]) == 1


def test_ingest_under_the_same_pil_has_one_naive_baseline(measured):
    here = f"naive_{loaded_pil()['pil']}"
    assert [k for k in measured if k.startswith("naive_")] == [here] and measured["baseline"] == here


def test_ingest_speedup_is_the_pool_over_the_baseline(measured):
    here = f"naive_{loaded_pil()['pil']}"
    assert measured["speedup"] == pytest.approx(measured["pool"]["per_s"] / measured[here]["per_s"], rel=0.01)


def test_ingest_records_the_load_average(measured):
    assert len(measured["loadavg"]) == 3


def test_plain_pillow_resize_runs_under_another_interpreter(photos):
    run = ingest._other(sys.executable, "resize", photos[:3], runs=1)
    assert run["pil"] == loaded_pil()["pil"] and run["photos"] == 3
    assert set(run["ops"]) == {"bicubic_224", "lanczos_72"} and all(o["ms_per_photo"] > 0 for o in run["ops"].values())


def test_plain_pillow_naive_runs_under_another_interpreter(photos):
    naive = ingest._other(sys.executable, "naive", photos[:2], runs=2)
    assert naive["photos"] == 2 and len(naive["seconds"]) == 2 and min(naive["seconds"]) > 0


def test_resize_share_is_never_a_ratio_of_a_pil_with_itself(photos):
    same = ingest.resize_share(photos[:2], runs=1, other_python=sys.executable)
    assert same["source"].startswith("not measured") and "ratios" not in same


def test_recorded_resize_run_has_both_pillows():
    rec = json.loads(ingest.RECORDED.read_text())
    assert set(rec["runs"]) == {"Pillow", "pillow-simd"} and rec["date"]
    assert len(rec["photos"]) == 50 and all(rec["runs"][k]["photos"] == 50 for k in rec["runs"])


def test_info_bench_and_plain_pillow_name_the_same_pil():
    """One detection (data/pil_flavour.py) behind `nounlens info`, the bench page and the baseline."""
    assert pil_info()["pil"] == loaded_pil()["pil"] == plain_pillow.flavour() != "unknown"
    assert pil_info()["version"] == loaded_pil()["version"]
