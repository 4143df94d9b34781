"""Training a one-pass stylizer on real photos from scikit-image: the split, checkpoints and preview,
validation, resuming, the weights file, and refusing a checkpoint made with other settings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PIL import Image
from style_support import skimage_photo

from nounlens.data.errors import NounlensError
from nounlens.models.stylizer import load_weights


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> SimpleNamespace:
    """12 steps on four photos (a fifth for validation), then resumed to 14."""
    from conftest import copy_photos

    from nounlens.trainer.style.train import StyleTrainConfig, train

    tmp_path = tmp_path_factory.mktemp("style")
    photos = copy_photos(["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_right.png"],
                         tmp_path / "photos")
    Image.fromarray(skimage_photo("hubble_deep_field")).save(tmp_path / "painting.png")
    cfg = StyleTrainConfig(style=str(tmp_path / "painting.png"), data=[str(photos[0].parent)],
                           out=str(tmp_path / "s.pt"), steps=12, batch_size=2, crop=48, lr=5e-3, style_size=96,
                           val_fraction=0.2, checkpoint_every=4, eval_every=6, widths=[8, 16, 16], n_res=1, threads=1)
    first = train(cfg, progress=False)
    written = (tmp_path / "s.pt.ckpt").exists() and (tmp_path / "s.pt.preview.jpg").exists()
    cfg.steps = 14
    again = train(cfg, progress=False)  # resumes: two more steps, history kept
    return SimpleNamespace(cfg=cfg, first=first, written=written, again=again, dir=tmp_path)


def test_training_splits_the_photos(runs):
    first = runs.first
    assert first["steps"] == 12 and first["train_photos"] == 4 and first["val_photos"] == 1


def test_training_writes_a_checkpoint_and_a_preview(runs):
    assert runs.written


def test_validation_comes_every_few_steps_and_the_style_loss_falls(runs):
    h = runs.first["history"]
    assert [r["step"] for r in h] == [6, 12] and h[-1]["val_style"] < h[0]["val_style"] * 1.05


def test_resume_goes_on_from_the_checkpoint_keeping_the_history(runs):
    assert runs.again["steps"] == 14 and [r["step"] for r in runs.again["history"]] == [6, 12, 14]


def test_the_weights_file_says_how_it_was_trained(runs):
    net, trained = load_weights(runs.dir / "s.pt")
    assert trained["steps"] == 14 and net.config["widths"] == [8, 16, 16]


def test_a_checkpoint_with_other_settings_is_an_error(runs):
    from nounlens.trainer.style.train import StyleTrainConfig, train

    with pytest.raises(NounlensError, match="other settings"):
        train(StyleTrainConfig(**{**runs.cfg.__dict__, "crop": 40}), progress=False)
