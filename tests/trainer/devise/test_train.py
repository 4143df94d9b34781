"""DeViSE training in the shared loop: a few real training steps on cached features of real photos
(../shared/data), determinism, resuming, and the classifier start."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED  # noqa: E402

from nounlens.data.datasets import load_labelled
from nounlens.data.errors import NounlensError
from nounlens.models.heads import Head, build_head, head_arrays
from nounlens.trainer.devise.train import DeviseConfig, train_devise

TINY = SHARED / "tiny-imagenet-subset"


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


@pytest.fixture(scope="module", params=["hinge", "cosine"])
def trained(request, real_training_set):
    return train_devise(real_training_set, _config(loss=request.param), progress=False)


@pytest.mark.shared
def test_the_training_set_has_a_row_of_features_per_photo(real_training_set):
    assert real_training_set.features.shape == (48, 1280)


@pytest.mark.shared
def test_few_steps_on_real_features_lower_the_loss(trained):
    losses = [h["train_loss"] for h in trained.history]
    assert losses[-1] < 0.7 * losses[0], losses


@pytest.mark.shared
def test_the_trained_head_maps_photos_into_the_text_space(trained, real_training_set):
    assert trained.head(real_training_set.features[:3].astype(np.float32)).shape == (3, 50)


@pytest.fixture(scope="module")
def seed_3(real_training_set) -> dict:
    return train_devise(real_training_set, _config(seed=3, dropout=0.2, epochs=2), progress=False).head.arrays


@pytest.mark.shared
def test_training_is_deterministic_given_a_seed(real_training_set, seed_3):
    again = train_devise(real_training_set, _config(seed=3, dropout=0.2, epochs=2), progress=False).head.arrays
    for k in seed_3:
        np.testing.assert_array_equal(seed_3[k], again[k])


@pytest.mark.shared
def test_another_seed_trains_another_head(real_training_set, seed_3):
    other = train_devise(real_training_set, _config(seed=4, dropout=0.2, epochs=2), progress=False).head.arrays
    assert not np.array_equal(seed_3["w0"], other["w0"])


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


@pytest.mark.shared
def test_a_checkpoint_with_other_settings_is_an_error_unless_not_resuming(real_training_set, tmp_path, monkeypatch):
    """The loop's rule for every trainer (trainer/checkpoint.py): never resume, nor silently restart over,
    a checkpoint made with other settings."""
    monkeypatch.setenv("NOUNLENS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "head.npz"
    train_devise(real_training_set, _config(epochs=4), out=out, progress=False, steps=6)  # 1 of 4 epochs
    with pytest.raises(NounlensError, match="other settings; delete it or use --no-resume"):
        train_devise(real_training_set, _config(epochs=4, lr=1e-3), out=out, progress=False)
    fresh = train_devise(real_training_set, _config(epochs=4, lr=1e-3), out=out, resume=False, progress=False, steps=6)
    assert [h["epoch"] for h in fresh.history] == [1]


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
