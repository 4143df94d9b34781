"""The benchmark's parts on a tiny slice of real photos (skimage's): they run, return sane structures and
compare like with like. No timing is asserted; timings live in docs/benchmarks.md."""

import io
import json
import sys

import numpy as np
import pytest
from PIL import Image

from nounlens.bench import embedding, ingest
from nounlens.bench.report import loaded_pil
from nounlens.cli.main import main
from nounlens.data.demo import skimage_data_dir
from nounlens.data.errors import NounlensError
from nounlens.data.images import MODEL_SIZE, THUMB_SIDE, decode_job
from nounlens.models.backbone import ONNX_TOLERANCE, Backbone, export_onnx, torch_model
from nounlens.models.embed import ModelStack
from nounlens.models.quantize import int8_meta, int8_path

NAMES = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png", "hubble_deep_field.jpg",
         "camera.png", "retina.jpg"]


@pytest.fixture(scope="module")
def photos() -> list[str]:
    return [str(skimage_data_dir() / n) for n in NAMES]


@pytest.fixture(scope="module")
def models() -> ModelStack:
    m = ModelStack()
    embedding.warm(m)
    return m


@pytest.fixture(scope="module")
def shared_like(tmp_path_factory) -> str:
    """A folder shaped like ../shared/data (imagenet-sample with its two CSVs) holding 8 real photos."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "imagenet-sample"
    folder.mkdir()
    rows = []
    for i, name in enumerate(NAMES):
        img = Image.open(skimage_data_dir() / name).convert("RGB")
        out = f"n{i:08d}_{name.split('.')[0]}.JPEG"
        img.save(folder / out, quality=90)
        rows.append((out, *img.size))
    (folder / "highres_512.csv").write_text("path,width,height\n" + "".join(f"{p},{w},{h}\n" for p, w, h in rows))
    (folder / "labels.csv").write_text("path,wnid,name,in_imagenet1k,class_index\n" + "".join(
        f"{p},n{i:08d},x,1,{i}\n" for i, (p, _, _) in enumerate(rows)))
    return str(root)


def test_naive_baseline_does_the_same_job_as_the_indexer(photos):
    for path in photos[:4]:
        pixels, thumb = ingest.naive(open(path, "rb").read())
        ours = decode_job(path)[2]
        naive_px = np.frombuffer(pixels, np.uint8).reshape(MODEL_SIZE, MODEL_SIZE, 3)
        assert np.abs(naive_px.astype(int) - ours.pixels.astype(int)).mean() < 6  # same crop, resampled alike
        a, b = Image.open(io.BytesIO(thumb)), Image.open(io.BytesIO(ours.thumb))
        assert a.format == b.format == "JPEG" and a.size == b.size and min(a.size) == THUMB_SIDE


def test_ingest_measures_all_three_ways(photos):
    r = ingest.measure(photos, runs=1, workers=1, other_python=sys.executable)  # same PIL: no second naive
    here = f"naive_{loaded_pil()['pil']}"
    for way in (here, "one_process", "pool"):
        assert r[way]["n"] == len(photos) and r[way]["per_s"] > 0 and len(r[way]["seconds"]) == 1
    assert [k for k in r if k.startswith("naive_")] == [here] and r["baseline"] == here
    assert r["speedup"] == pytest.approx(r["pool"]["per_s"] / r[here]["per_s"], rel=0.01)
    assert len(r["loadavg"]) == 3


def test_plain_pillow_runs_under_another_interpreter(photos):
    run = ingest._other(sys.executable, "resize", photos[:3], runs=1)
    assert run["pil"] == loaded_pil()["pil"] and run["photos"] == 3
    assert set(run["ops"]) == {"bicubic_224", "lanczos_72"} and all(o["ms_per_photo"] > 0 for o in run["ops"].values())
    naive = ingest._other(sys.executable, "naive", photos[:2], runs=2)
    assert naive["photos"] == 2 and len(naive["seconds"]) == 2 and min(naive["seconds"]) > 0
    same = ingest.resize_share(photos[:2], runs=1, other_python=sys.executable)
    assert same["source"].startswith("not measured") and "ratios" not in same  # never a ratio of a PIL with itself


def test_recorded_resize_run_has_both_pillows():
    rec = json.loads(ingest.RECORDED.read_text())
    assert set(rec["runs"]) == {"Pillow", "pillow-simd"} and rec["date"]
    assert len(rec["photos"]) == 50 and all(rec["runs"][k]["photos"] == 50 for k in rec["runs"])


def test_onnx_export_matches_torch_within_1e4_and_leaves_eval_mode(tmp_path, photos):
    assert export_onnx("efficientnet-lite0", tmp_path / "lite0.onnx") <= ONNX_TOLERANCE == 1e-4
    assert not torch_model("efficientnet-lite0").training  # export can leave the module in training mode
    px = np.stack([decode_job(p)[2].pixels for p in photos[:4]])
    (f1, y1), (f2, y2) = Backbone(runtime="onnx")(px), Backbone(runtime="torch")(px)
    assert np.abs(f1 - f2).max() < 1e-4 and np.abs(y1 - y2).max() < 1e-4


def test_int8_backbone_loads_and_embeds_close_to_fp32(photos, models):
    px = np.stack([decode_job(p)[2].pixels for p in photos])
    f32, y32 = Backbone(runtime="onnx")(px)
    f8, y8 = Backbone(runtime="onnx-int8")(px)
    cos = (f32 * f8).sum(1) / np.linalg.norm(f32, axis=1) / np.linalg.norm(f8, axis=1)
    assert f8.shape == f32.shape and cos.min() > 0.95
    v32, v8 = models.embedder(f32, y32), models.embedder(f8, y8)
    assert (v32 * v8).sum(1).min() > 0.9  # ConSE vectors: what search compares
    assert y8[1].argmax() == y32[1].argmax() == 967  # espresso either way
    meta = int8_meta("efficientnet-lite0")
    assert meta["calibration"]["photos"] == 100 and "imagenet-sample" not in meta["calibration"]["folders"]
    with pytest.raises(NounlensError, match="other weights"):
        int8_path("efficientnet-lite0", "0" * 64)
    with pytest.raises(NounlensError, match="unknown runtime"):
        Backbone(runtime="tensorrt")


def test_embedding_stage_on_a_tiny_slice(photos, models):
    small = photos[:4]
    _, y32 = models.backbone(np.stack([decode_job(p)[2].pixels for p in small]))
    r, md = embedding.run("/nonexistent", photos=small, labelled=(small, y32.argmax(1)), sweep=False)
    for key in ("index", "index_int8", "eager", "batched"):
        assert r[key]["n"] == 4 and r[key]["per_s"] > 0 and len(r[key]["seconds"]) == r["runs"]
    assert r["eager"]["per_s"] == max(r[f"eager_t{t}"]["per_s"] for t in r["eager_thread_counts"])
    assert r["index"]["model_s"] > 0 and set(r["model_alone"]) >= {"onnx_b32", "onnx-int8_b32", "torch_eager_b1"}
    t = r["top1"]  # labelled by fp32 itself
    assert t["fp32"] == 100 and t["int8"] == t["agree"] and t["photos"] == 4
    assert 0.9 < t["cosine_mean"] <= 1.0001 and t["int8_offered"] == (t["drop"] <= embedding.INT8_MAX_DROP)
    assert md.startswith("## (b) Embedding") and "baseline" in md and "### int8: accuracy" in md
    m8 = embedding.with_backbone(models, "onnx-int8", threads=1, spin=True, chunk=2)
    assert (m8.backbone.runtime, m8.backbone.spin, m8.backbone.chunk) == ("onnx-int8", True, 2)
    assert m8.text is models.text  # the loaded text encoder is shared, not loaded again


def test_bench_command_writes_the_page(shared_like, tmp_path, capsys):
    out = tmp_path / "benchmarks.md"
    assert main(["bench", "--quick", "--stages", "ingest", "--data", shared_like, "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    sets = result["results"]["ingest"]["sets"]
    assert sets["imagenet-sample"]["pool"]["n"] == 2 and sets["highres_512"]["pool"]["n"] == 8  # quick: every 5th
    text = out.read_text()
    assert text.startswith("# Benchmarks") and "load average" in text and "## (a) Ingest" in text
    assert [row[0] for row in result["targets"]][:2] == ["ingest, imagenet-sample, vs naive Pillow",
                                                          "ingest, highres_512, vs naive Pillow"]
    assert main(["bench", "--data", str(tmp_path / "nowhere"), "--out", str(out)]) == 1


def test_bench_stages_rerun_keeps_the_other_stages(shared_like, tmp_path, capsys):
    out = tmp_path / "benchmarks.md"
    assert main(["bench", "--quick", "--stages", "ingest", "--data", shared_like, "--out", str(out)]) == 0
    first = json.loads(out.with_suffix(".json").read_text())
    first["results"]["ingest"]["measured"] = "2000-01-01 00:00"  # as if measured long ago
    out.with_suffix(".json").write_text(json.dumps(first))
    capsys.readouterr()
    assert main(["bench", "--quick", "--stages", "embedding", "--data", shared_like, "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["results"]
    assert list(result) == ["ingest", "embedding"]
    assert result["ingest"]["sets"] == first["results"]["ingest"]["sets"]
    assert result["ingest"]["measured"] == "2000-01-01 00:00" != result["embedding"]["measured"]
    text = out.read_text()
    assert "## (a) Ingest" in text and "## (b) Embedding" in text
    assert text.count("Kept from the run of 2000-01-01 00:00") == 1
