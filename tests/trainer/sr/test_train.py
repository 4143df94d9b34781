"""Training the thumbnail super-resolution network on real photos (../shared/data): a few steps lower
the loss; `train` keeps the held-out photos out, checkpoints, resumes, refuses a checkpoint made with
other settings, and fine-tunes from given weights into the same or wider widths."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sr_support import real_photos

from nounlens.data.errors import NounlensError
from nounlens.models.perceptual import FeatureLoss
from nounlens.models.sr import SRNet, load_weights


@pytest.mark.shared
def test_a_few_training_steps_on_real_photos_lower_the_loss():
    from nounlens.trainer.sr.train import load_pairs, random_crops, to_tensor

    torch.manual_seed(0)
    pairs = load_pairs([str(p) for p in real_photos()[:6]], min_lr=24, progress=False)
    assert len(pairs) >= 4
    x, y = (to_tensor(a) for a in random_crops(pairs, np.random.default_rng(0), 4, 16))
    net = SRNet(nf=16, n_res=2, nf_mid=8, nf_hi=8)
    loss_fn = FeatureLoss(feature_weight=5e-3)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)

    def value() -> float:  # in training mode: batch statistics, as the steps saw them
        with torch.no_grad():
            return float(loss_fn(net(x), y))

    before = value()
    for _ in range(25):
        loss = loss_fn(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert value() < 0.95 * before  # from exactly bicubic (the head starts at zero)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> SimpleNamespace:
    """Two steps on four photos (a fifth listed as held out), then resumed to three steps."""
    from nounlens.trainer.sr.train import TrainConfig, train

    tmp_path = tmp_path_factory.mktemp("sr")
    data = tmp_path / "photos"
    data.mkdir()
    for p in real_photos()[:5]:
        (data / p.name).symlink_to(p)
    (data / "highres_512.csv").write_text(f"path,width,height\n{real_photos()[0].name},0,0\n")
    cfg = TrainConfig(data=[str(data)], out=str(tmp_path / "sr.pt"), steps=2, batch_size=2, crop=16, val_fraction=0.25,
                      checkpoint_every=1, eval_every=1, width={"nf": 8, "n_res": 1, "nf_mid": 8, "nf_hi": 4})
    first = train(cfg, progress=False)
    checkpointed = (tmp_path / "sr.pt.ckpt").exists()
    cfg.steps = 3
    again = train(cfg, progress=False)  # resumes from the checkpoint: one more step, history kept
    return SimpleNamespace(cfg=cfg, first=first, checkpointed=checkpointed, again=again, dir=tmp_path)


def tuned_config(runs: SimpleNamespace, tmp_path, **change):
    """One step of fine-tuning from the weights the runs wrote, into tmp_path."""
    from nounlens.trainer.sr.train import TrainConfig

    return TrainConfig(**{**runs.cfg.__dict__, "crop": 16, "steps": 1, "init": str(runs.dir / "sr.pt"),
                          "out": str(tmp_path / "tuned.pt"), "resume": False, **change})


@pytest.mark.shared
def test_training_keeps_the_held_out_photos_out(runs):
    first = runs.first
    assert first["steps"] == 2 and first["held_out"] == 1 and first["train_photos"] + first["val_photos"] == 4


@pytest.mark.shared
def test_training_writes_a_checkpoint(runs):
    assert runs.checkpointed


@pytest.mark.shared
def test_resume_goes_on_from_the_checkpoint_keeping_the_history(runs):
    assert runs.again["steps"] == 3 and [h["step"] for h in runs.again["history"]] == [1, 2, 3]


@pytest.mark.shared
def test_the_weights_file_says_how_it_was_trained(runs):
    net, trained = load_weights(runs.dir / "sr.pt")
    assert trained["steps"] == 3 and net.config["nf"] == 8


@pytest.mark.shared
def test_a_checkpoint_with_other_settings_is_an_error(runs):
    from nounlens.trainer.sr.train import TrainConfig, train

    with pytest.raises(NounlensError, match="other settings"):
        train(TrainConfig(**{**runs.cfg.__dict__, "crop": 20}), progress=False)


@pytest.mark.shared
def test_fine_tuning_starts_from_the_given_weights(runs, tmp_path):
    from nounlens.trainer.sr.train import train

    train(tuned_config(runs, tmp_path), progress=False)
    start, tuned_net = load_weights(runs.dir / "sr.pt")[0], load_weights(tmp_path / "tuned.pt")[0]
    assert tuned_net.config == start.config  # one small step away from the start, not a fresh init
    assert float((tuned_net.state_dict()["stem.1.weight"] - start.state_dict()["stem.1.weight"]).abs().max()) < 0.01


@pytest.mark.shared
def test_fine_tuning_into_narrower_widths_is_an_error(runs, tmp_path):
    from nounlens.trainer.sr.train import train

    with pytest.raises(NounlensError, match="do not fit"):  # narrower than the weights it starts from
        train(tuned_config(runs, tmp_path, width={"nf": 4, "n_res": 1, "nf_mid": 8, "nf_hi": 4}), progress=False)


@pytest.mark.shared
def test_fine_tuning_into_wider_widths_starts_as_the_given_weights(runs, tmp_path):
    from nounlens.trainer.sr.train import train

    wider = train(tuned_config(runs, tmp_path, width={"nf": 12, "n_res": 1, "nf_mid": 8, "nf_hi": 6},
                               out=str(tmp_path / "wider.pt")), progress=False)
    assert wider["steps"] == 1 and load_weights(tmp_path / "wider.pt")[0].config["nf_hi"] == 6
