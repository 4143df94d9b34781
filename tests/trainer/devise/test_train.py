"""DeViSE training: losses on hand-computed cases, the numpy head against torch, labelled layouts,
and a few real training steps on cached features of real photos (../shared/data)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import SHARED  # noqa: E402

from nounlens.data.datasets import load_labelled
from nounlens.data.errors import NounlensError
from nounlens.models.heads import Head, build_head, head_arrays
from nounlens.trainer.devise.train import DeviseConfig, cosine_loss, hinge_rank_loss, sparse_targets, train_devise

TINY = SHARED / "tiny-imagenet-subset"
LABELS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])


def test_hinge_rank_loss_by_hand():
    pred = torch.tensor([[0.2, 0.6]])  # scores against LABELS: 0.2, 0.6, -0.2
    one = torch.ones(1, 1)
    # target 0: j=1 gives 0.1 - 0.2 + 0.6 = 0.5, j=2 gives max(0, 0.1 - 0.2 - 0.2) = 0
    assert float(hinge_rank_loss(pred, LABELS, torch.tensor([[0]]), one, 0.1)) == pytest.approx(0.5)
    # target 1 is ahead of both others by more than the margin
    assert float(hinge_rank_loss(pred, LABELS, torch.tensor([[1]]), one, 0.1)) == pytest.approx(0.0, abs=1e-6)
    # weighted targets: 0.25 * 0.5 + 0.75 * 0; and a batch is averaged
    soft = hinge_rank_loss(pred, LABELS, torch.tensor([[0, 1]]), torch.tensor([[0.25, 0.75]]), 0.1)
    assert float(soft) == pytest.approx(0.125)
    batch = hinge_rank_loss(pred.repeat(2, 1), LABELS, torch.tensor([[0], [1]]), torch.ones(2, 1), 0.1)
    assert float(batch) == pytest.approx(0.25)


def test_cosine_loss_by_hand():
    pred = torch.tensor([[1.0, 1.0]])
    one = cosine_loss(pred, LABELS, torch.tensor([[0]]), torch.ones(1, 1))
    assert float(one) == pytest.approx(1 - 1 / math.sqrt(2))
    # the soft target 0.5 * e0 + 0.5 * e1 points the same way as pred
    both = cosine_loss(pred, LABELS, torch.tensor([[0, 1]]), torch.tensor([[0.5, 0.5]]))
    assert float(both) == pytest.approx(0.0, abs=1e-6)


def test_sparse_targets_mix_hard_labels_and_softmax():
    idx, w = sparse_targets(np.array([2, -1]), np.array([[0, 1], [0, 1]]), np.array([[0.6, 0.4], [0.6, 0.4]]), 0.25)
    assert idx.tolist() == [[2, 0, 1], [0, 0, 1]]
    np.testing.assert_allclose(w, [[0.75, 0.15, 0.1], [0.0, 0.6, 0.4]], rtol=1e-6)


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_numpy_head_matches_torch(kind):
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=16).astype(np.float32), rng.uniform(0.5, 2, 16).astype(np.float32)
    torch.manual_seed(0)
    module = build_head(kind, 16, 5, mean, std, hidden=8, dropout=0.5).eval()
    x = rng.normal(size=(4, 16)).astype(np.float32)
    with torch.no_grad():
        ref = torch.nn.functional.normalize(module(torch.from_numpy(x)), dim=1).numpy()
    head = Head(head_arrays(module), {"kind": kind})
    np.testing.assert_allclose(head(x), ref, atol=1e-5)
    assert head.dim == 5


def test_head_file_round_trip(tmp_path):
    module = build_head("linear", 4, 3, np.zeros(4), np.ones(4))
    path = Head(head_arrays(module), {"encoder": "minilm"}).save(tmp_path / "h.npz")
    loaded = Head.load(path)
    assert loaded.meta == {"encoder": "minilm"}
    np.testing.assert_allclose(loaded.arrays["w0"], module[2].weight.detach().numpy().T, rtol=1e-3, atol=1e-4)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(loaded(x), Head(head_arrays(module), {})(x), atol=2e-3)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(NounlensError, match="not a nounlens DeViSE head"):
        Head.load(tmp_path / "bad.npz")


def test_labelled_layouts(tmp_path):
    folders = tmp_path / "folders" / "train"
    for wnid in ("n01440764", "n01443537"):
        (folders / wnid / "images").mkdir(parents=True)
        (folders / wnid / "images" / "a.JPEG").write_bytes(b"x")
    items = load_labelled(tmp_path / "folders", "train")
    assert [(Path(i.path).name, i.wnid) for i in items] == [("a.JPEG", "n01440764"), ("a.JPEG", "n01443537")]
    named = tmp_path / "named"
    named.mkdir()
    for name in ("n01440764_tench.JPEG", "n01443537_1.jpg", "readme.txt", "holiday.jpg"):
        (named / name).write_bytes(b"x")
    assert [i.wnid for i in load_labelled(named)] == ["n01440764", "n01443537"]
    csv = tmp_path / "csv"
    csv.mkdir()
    (csv / "labels.csv").write_text("path,wnid,split\na.jpg,n01440764,train\nb.jpg,n01443537,val\n")
    assert [i.wnid for i in load_labelled(csv, "val")] == ["n01443537"]
    assert Path(load_labelled(csv)[0].path) == (csv / "a.jpg").absolute()
    (csv / "labels.csv").write_text("path,wnid\na.jpg,dog\n")
    with pytest.raises(NounlensError, match="WordNet noun ids"):
        load_labelled(csv)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NounlensError, match="no labelled photos"):
        load_labelled(tmp_path / "empty")


@pytest.fixture(scope="module")
def real_training_set():
    """Cached features of 48 real Tiny ImageNet photos (6 classes x 8), targets from labels + softmax."""
    if not (TINY / "labels.csv").exists():
        pytest.skip(f"needs the shared data ({TINY})")
    from nounlens.models.backbone import Backbone
    from nounlens.models.text import get_encoder, noun_vectors
    from nounlens.trainer.devise.data import build_training_set

    items = load_labelled(TINY, "train")
    classes = sorted({i.wnid for i in items})[:6]
    items = [i for i in items if i.wnid in classes]
    items = [i for k, i in enumerate(items) if sum(j.wnid == i.wnid for j in items[:k]) < 8]
    nouns = noun_vectors(get_encoder("glove"))
    cfg = DeviseConfig(soft=0.5, soft_top=5)
    return build_training_set(items, [], nouns, Backbone(), cfg, views=1, progress=False)


def _config(**kw) -> DeviseConfig:
    return DeviseConfig(**({"epochs": 6, "batch_size": 8, "lr": 3e-3, "val_fraction": 0.0, "soft": 0.5, "soft_top": 5,
                            "dropout": 0.0} | kw))


@pytest.mark.shared
@pytest.mark.parametrize("loss", ["hinge", "cosine"])
def test_few_steps_on_real_features_lower_the_loss(real_training_set, loss):
    assert real_training_set.features.shape == (48, 1280)
    result = train_devise(real_training_set, _config(loss=loss), progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.7 * losses[0], losses
    assert result.head(real_training_set.features[:3].astype(np.float32)).shape == (3, 50)


@pytest.mark.shared
def test_training_is_deterministic_given_a_seed(real_training_set):
    a = train_devise(real_training_set, _config(seed=3, dropout=0.2, epochs=2), progress=False).head.arrays
    b = train_devise(real_training_set, _config(seed=3, dropout=0.2, epochs=2), progress=False).head.arrays
    c = train_devise(real_training_set, _config(seed=4, dropout=0.2, epochs=2), progress=False).head.arrays
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["w0"], c["w0"])


@pytest.mark.shared
def test_resume_continues_from_the_checkpoint(real_training_set, tmp_path, monkeypatch):
    monkeypatch.setenv("NOUNLENS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "head.npz"
    full = train_devise(real_training_set, _config(epochs=4), progress=False).head.arrays
    train_devise(real_training_set, _config(epochs=4), out=out, progress=False, steps=12)  # 2 of 4 epochs
    resumed = train_devise(real_training_set, _config(epochs=4), out=out, progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    for k in full:
        np.testing.assert_allclose(resumed.head.arrays[k], full[k], atol=1e-6)


def test_devise_head_is_named_in_the_manifest_and_checked(tmp_path):
    from nounlens.models.embed import ModelStack, shipped_head
    from nounlens.search.engine import check_models

    if not shipped_head("minilm").exists():
        pytest.skip("no shipped minilm head")
    conse, devise = ModelStack(head="conse"), ModelStack(head="devise")
    recorded = devise.describe()
    assert recorded["embed"]["head"] == "devise" and recorded["embed"]["digest"]
    check_models(SimpleNamespace(path=tmp_path), recorded, devise)
    with pytest.raises(NounlensError, match="--reembed.*--head conse"):
        check_models(SimpleNamespace(path=tmp_path), recorded, conse)
    with pytest.raises(NounlensError, match="unknown image embedding"):
        ModelStack(head="clip")


def test_classifier_init_starts_at_the_logit_weighted_class_mix():
    from nounlens.models.text import unit_rows
    from nounlens.trainer.devise.train import TrainingSet, classifier_init

    rng = np.random.default_rng(1)
    feats = rng.gamma(2.0, size=(64, 12)).astype(np.float32)
    w_fc, b_fc = rng.normal(size=(12, 7)).astype(np.float32), rng.normal(size=7).astype(np.float32)
    classes = unit_rows(rng.normal(size=(7, 4)))
    data = TrainingSet(feats, np.arange(64), np.zeros((64, 1), dtype=np.int64), np.ones((64, 1), np.float32),
                       classes, (w_fc, b_fc))
    mean, std = feats.mean(0), feats.std(0) + 1e-3
    model = build_head("linear", 12, 4, mean, std).eval()
    classifier_init(model, data, mean, std)
    head = Head(head_arrays(model), {})
    np.testing.assert_allclose(head(feats), unit_rows((feats @ w_fc + b_fc) @ classes), atol=1e-5)


def test_switching_heads_needs_reembed_which_uses_stored_features(tmp_path):
    from nounlens.data.demo import write_demo_gallery
    from nounlens.models.embed import shipped_head
    from nounlens.search.engine import Engine

    if not shipped_head("minilm").exists():
        pytest.skip("no shipped minilm head")
    gallery = write_demo_gallery(tmp_path / "gallery")
    photos = sorted(gallery.iterdir())[:3]
    cat = tmp_path / "cat"
    engine = Engine.open(cat, create=True)
    engine.index(photos, workers=0, progress=False)
    assert engine.catalogue.manifest["models"]["embed"]["head"] == "conse"
    _, before = engine.catalogue.vectors()
    engine.catalogue.close()
    with pytest.raises(NounlensError, match="--reembed --encoder minilm --head devise"):
        Engine.open(cat, head="devise")
    engine = Engine.open(cat, create=True, head="devise")
    for p in photos:  # a re-projection must not read a photo
        p.unlink()
    assert engine.reembed() == 3
    _, after = engine.catalogue.vectors()
    engine.catalogue.close()
    assert after.shape == before.shape and not np.allclose(after, before)
    reopened = Engine.open(cat)  # the manifest now names the DeViSE head
    assert reopened.models.head == "devise"
    assert reopened.catalogue.manifest["models"]["embed"]["name"] == "devise:devise-minilm"
    assert len(reopened.search("cat", k=3)) == 3
