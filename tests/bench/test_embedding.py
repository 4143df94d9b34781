"""Stage (b), embedding, and the backbones it times (ONNX export, int8) on a tiny slice of real photos."""

import numpy as np
import pytest

from nounlens.bench import embedding
from nounlens.data.errors import NounlensError
from nounlens.data.images import decode_job
from nounlens.models.backbone import ONNX_TOLERANCE, Backbone, export_onnx, torch_model
from nounlens.models.int8 import int8_meta, int8_path


@pytest.fixture(scope="module")
def export_error(tmp_path_factory) -> float:
    """The largest difference from torch that exporting EfficientNet-Lite0 to ONNX measured."""
    return export_onnx("efficientnet-lite0", tmp_path_factory.mktemp("onnx") / "lite0.onnx")


def test_onnx_export_matches_torch_within_1e4(export_error):
    assert export_error <= ONNX_TOLERANCE == 1e-4


def test_onnx_export_leaves_the_torch_model_in_eval_mode(export_error):
    assert not torch_model("efficientnet-lite0").training  # export can leave the module in training mode


def test_onnx_and_torch_backbones_agree_within_1e4(photos):
    px = np.stack([decode_job(p)[2].pixels for p in photos[:4]])
    (f1, y1), (f2, y2) = Backbone(runtime="onnx")(px), Backbone(runtime="torch")(px)
    assert np.abs(f1 - f2).max() < 1e-4 and np.abs(y1 - y2).max() < 1e-4


@pytest.fixture(scope="module")
def fp32_int8(photos) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(features, logits) of the photos from the fp32 and the int8 ONNX backbone."""
    px = np.stack([decode_job(p)[2].pixels for p in photos])
    return Backbone(runtime="onnx")(px), Backbone(runtime="onnx-int8")(px)


def test_int8_backbone_features_are_close_to_fp32(fp32_int8):
    (f32, _), (f8, _) = fp32_int8
    cos = (f32 * f8).sum(1) / np.linalg.norm(f32, axis=1) / np.linalg.norm(f8, axis=1)
    assert f8.shape == f32.shape and cos.min() > 0.95


def test_int8_conse_vectors_are_close_to_fp32(fp32_int8, models):
    (f32, y32), (f8, y8) = fp32_int8
    v32, v8 = models.embedder(f32, y32), models.embedder(f8, y8)
    assert (v32 * v8).sum(1).min() > 0.9  # ConSE vectors: what search compares


def test_int8_and_fp32_both_see_the_espresso(fp32_int8):
    (_, y32), (_, y8) = fp32_int8
    assert y8[1].argmax() == y32[1].argmax() == 967  # espresso either way


def test_int8_calibration_photos_are_not_from_imagenet_sample():
    meta = int8_meta("efficientnet-lite0")
    assert meta["calibration"]["photos"] == 100 and "imagenet-sample" not in meta["calibration"]["folders"]


def test_int8_model_for_other_weights_is_refused():
    with pytest.raises(NounlensError, match="other weights"):
        int8_path("efficientnet-lite0", "0" * 64)


def test_unknown_backbone_runtime_is_refused():
    with pytest.raises(NounlensError, match="unknown runtime"):
        Backbone(runtime="tensorrt")


@pytest.fixture(scope="module")
def stage(photos, models) -> tuple[dict, str]:
    """The embedding stage on 4 photos, labelled by fp32 itself, without the thread sweep."""
    small = photos[:4]
    _, y32 = models.backbone(np.stack([decode_job(p)[2].pixels for p in small]))
    return embedding.run("/nonexistent", photos=small, labelled=(small, y32.argmax(1)), sweep=False)


def test_embedding_stage_times_every_way(stage):
    r, _ = stage
    for key in ("index", "index_int8", "eager", "batched"):
        assert r[key]["n"] == 4 and r[key]["per_s"] > 0 and len(r[key]["seconds"]) == r["runs"]


def test_embedding_eager_figure_is_its_best_thread_count(stage):
    r, _ = stage
    assert r["eager"]["per_s"] == max(r[f"eager_t{t}"]["per_s"] for t in r["eager_thread_counts"])


def test_embedding_stage_times_the_model_alone(stage):
    r, _ = stage
    assert r["index"]["model_s"] > 0 and set(r["model_alone"]) >= {"onnx_b32", "onnx-int8_b32", "torch_eager_b1"}


def test_embedding_top1_of_int8_against_fp32_labels(stage):
    t = stage[0]["top1"]  # labelled by fp32 itself
    assert t["fp32"] == 100 and t["int8"] == t["agree"] and t["photos"] == 4
    assert 0.9 < t["cosine_mean"] <= 1.0001 and t["int8_offered"] == (t["drop"] <= embedding.INT8_MAX_DROP)


def test_embedding_markdown_has_its_sections(stage):
    _, md = stage
    assert md.startswith("## (b) Embedding") and "baseline" in md and "### int8: accuracy" in md


def test_with_backbone_sets_runtime_spin_and_chunk(models):
    m8 = embedding.with_backbone(models, "onnx-int8", threads=1, spin=True, chunk=2)
    assert (m8.backbone.runtime, m8.backbone.spin, m8.backbone.chunk) == ("onnx-int8", True, 2)


def test_with_backbone_shares_the_loaded_text_encoder(models):
    m8 = embedding.with_backbone(models, "onnx-int8", threads=1, spin=True, chunk=2)
    assert m8.text is models.text  # the loaded text encoder is shared, not loaded again
