"""Thumbnail super-resolution: the network's shapes and range, the perceptual loss, a few real
training steps, the checkerboard check and the bicubic fallback. All fast (CPU, small crops)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from conftest import SHARED  # noqa: E402
from PIL import Image
from torch import nn

from nounlens.data.errors import NounlensError
from nounlens.data.images import decode
from nounlens.models.blocks import load_into_wider
from nounlens.models.perceptual import FeatureLoss
from nounlens.models.sr import WEIGHTS, SRNet, load_weights, upscale
from nounlens.search.upscale import SRFallbackWarning, Upscaler, bicubic, thumb_pixels

PHOTOS = sorted((SHARED / "imagenet-sample").glob("n0*.JPEG"))[::97]


def real_photos():
    if len(PHOTOS) < 4:
        pytest.skip(f"needs the shared data ({SHARED / 'imagenet-sample'})")
    return PHOTOS


def perturbed(net: SRNet, seed: int = 0) -> SRNet:
    """A random network whose output is not just bicubic (the head starts at zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return net.eval()


def shipped() -> SRNet:
    if not WEIGHTS.exists():
        pytest.fail(f"the shipped weights {WEIGHTS} are missing")
    return load_weights()[0]


# ---- the network ------------------------------------------------------------------------------
def test_shapes_and_range():
    net = perturbed(SRNet(nf=8, n_res=1, nf_mid=8, nf_hi=4))
    x = torch.rand(2, 3, 18, 26)
    with torch.inference_mode():
        y = net(x)
    assert y.shape == (2, 3, 72, 104)
    assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
    extreme = torch.zeros(1, 3, 12, 12)
    extreme[..., ::2, :] = 1.0  # saturated stripes must stay inside [0, 1] too
    with torch.inference_mode():
        z = net(extreme)
    assert z.min() >= 0 and z.max() <= 1


def test_untrained_network_is_bicubic():
    """The head starts at zero, so training begins from the bicubic upscale."""
    x = torch.rand(1, 3, 10, 12)
    with torch.inference_mode():
        y = SRNet().eval()(x)
    ref = nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).clamp(1e-3, 1 - 1e-3)
    assert torch.allclose(y, ref, atol=1e-5)


def test_shipped_weights_small_and_uint8_api():
    assert WEIGHTS.stat().st_size < 5 * 2**20
    net, trained = load_weights()
    assert trained.get("steps", 0) > 0 and trained.get("data")
    thumbs = [np.random.default_rng(0).integers(0, 256, (72, 90, 3), dtype=np.uint8),
              np.full((72, 72, 3), 128, np.uint8), np.full((72, 90, 3), 7, np.uint8)]
    out = upscale(net, thumbs)
    assert [o.shape for o in out] == [(288, 360, 3), (288, 288, 3), (288, 360, 3)]
    assert all(o.dtype == np.uint8 for o in out)
    assert np.abs(out[1].astype(int) - 128).max() <= 1  # a flat grey stays that grey


@pytest.mark.shared
def test_bfloat16_convolutions_move_outputs_by_a_grey_level_or_so():
    """upscale runs the convolutions in bfloat16 where the CPU has it; the picture must not change."""
    net = shipped()
    thumbs = [np.asarray(Image.open(io.BytesIO(decode(p.read_bytes()).thumb)).convert("RGB"))
              for p in real_photos()[:3]]
    fp32, bf16 = upscale(net, thumbs, bf16=False), upscale(net, thumbs, bf16=True)
    diffs = [np.abs(a.astype(int) - b.astype(int)) for a, b in zip(fp32, bf16, strict=True)]
    assert max(int(d.max()) for d in diffs) <= 4 and np.mean([d.mean() for d in diffs]) < 0.2
    assert any(d.max() > 0 for d in diffs)  # the bfloat16 path really ran


# ---- the loss ---------------------------------------------------------------------------------
def test_loss_zero_for_identical_images_and_positive_otherwise():
    loss = FeatureLoss(feature_weight=1.0, pixel_weight=1.0)
    g = torch.Generator().manual_seed(1)
    a = torch.rand(2, 3, 64, 64, generator=g)
    same = loss.parts(a, a.clone())
    assert float(same["feature"]) == 0.0 and float(same["pixel"]) == 0.0
    blurred = nn.functional.avg_pool2d(a, 3, 1, 1)
    parts = loss.parts(blurred, a)
    assert float(parts["feature"]) > 0 and float(parts["pixel"]) > 0
    shifted = loss.parts(a.roll(1, dims=3), a)
    assert float(shifted["feature"]) > 0
    # the loss network is frozen and stays in eval mode
    loss.train()
    assert not loss.features.training and not any(p.requires_grad for p in loss.features.parameters())


def test_unit_feature_loss_and_tap_weights():
    from nounlens.models.perceptual import unit_distance

    g = torch.Generator().manual_seed(2)
    a = torch.rand(2, 3, 64, 64, generator=g)
    blurred = nn.functional.avg_pool2d(a, 3, 1, 1)
    # hand-computed: unit vectors along channels, squared distance summed over channels, mean over the rest
    f, h = torch.tensor([[[[3.0]], [[4.0]]]]), torch.tensor([[[[0.0]], [[2.0]]]])
    assert float(unit_distance(f, h)) == pytest.approx((0.6 - 0) ** 2 + (0.8 - 1) ** 2, rel=1e-5)
    unit = FeatureLoss(taps=(0, 2), unit=True)
    assert float(unit.parts(a, a.clone())["feature"]) == 0.0 and float(unit.parts(blurred, a)["feature"]) > 0
    tap0 = float(FeatureLoss(taps=(0,), unit=True).parts(blurred, a)["feature"])
    weighted = float(FeatureLoss(taps=(0, 2), unit=True, tap_weights=(3.0, 0.0)).parts(blurred, a)["feature"])
    assert weighted == pytest.approx(3 * tap0, rel=1e-5)
    with pytest.raises(ValueError, match="tap weights"):
        FeatureLoss(taps=(0, 2), tap_weights=(1.0,))


# ---- training on real photos ------------------------------------------------------------------
@pytest.mark.shared
def test_pairs_use_the_indexers_thumbnail():
    from nounlens.data.pairs import make_pair

    path = real_photos()[0]
    pair = make_pair(path)
    assert np.array_equal(pair.lr, thumb_pixels(decode(str(path)).thumb))
    assert pair.hr.shape == (pair.lr.shape[0] * 4, pair.lr.shape[1] * 4, 3)


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


@pytest.mark.shared
def test_training_checkpoints_resumes_and_keeps_the_holdout_out(tmp_path):
    from nounlens.models.sr import load_weights
    from nounlens.trainer.sr.train import TrainConfig, train

    data = tmp_path / "photos"
    data.mkdir()
    for p in real_photos()[:5]:
        (data / p.name).symlink_to(p)
    (data / "highres_512.csv").write_text(f"path,width,height\n{real_photos()[0].name},0,0\n")
    cfg = TrainConfig(data=[str(data)], out=str(tmp_path / "sr.pt"), steps=2, batch_size=2, crop=16, val_fraction=0.25,
                      checkpoint_every=1, eval_every=1, width={"nf": 8, "n_res": 1, "nf_mid": 8, "nf_hi": 4})
    first = train(cfg, progress=False)
    assert first["steps"] == 2 and first["held_out"] == 1 and first["train_photos"] + first["val_photos"] == 4
    assert (tmp_path / "sr.pt.ckpt").exists()
    cfg.steps = 3
    again = train(cfg, progress=False)  # resumes from the checkpoint: one more step, history kept
    assert again["steps"] == 3 and [h["step"] for h in again["history"]] == [1, 2, 3]
    net, trained = load_weights(tmp_path / "sr.pt")
    assert trained["steps"] == 3 and net.config["nf"] == 8
    cfg.crop = 20
    with pytest.raises(NounlensError, match="other settings"):
        train(cfg, progress=False)
    # fine-tuning starts from given weights (same widths), not from bicubic
    tuned = TrainConfig(**{**cfg.__dict__, "crop": 16, "steps": 1, "init": str(tmp_path / "sr.pt"),
                           "out": str(tmp_path / "tuned.pt"), "resume": False})
    train(tuned, progress=False)
    start, tuned_net = load_weights(tmp_path / "sr.pt")[0], load_weights(tmp_path / "tuned.pt")[0]
    assert tuned_net.config == start.config  # one small step away from the start, not a fresh init
    assert float((tuned_net.state_dict()["stem.1.weight"] - start.state_dict()["stem.1.weight"]).abs().max()) < 0.01
    with pytest.raises(NounlensError, match="do not fit"):  # narrower than the weights it starts from
        train(TrainConfig(**{**tuned.__dict__, "width": {"nf": 4, "n_res": 1, "nf_mid": 8, "nf_hi": 4}}),
              progress=False)
    wider = train(TrainConfig(**{**tuned.__dict__, "width": {"nf": 12, "n_res": 1, "nf_mid": 8, "nf_hi": 6},
                                 "out": str(tmp_path / "wider.pt")}), progress=False)
    assert wider["steps"] == 1 and load_weights(tmp_path / "wider.pt")[0].config["nf_hi"] == 6


def test_a_widened_network_starts_as_the_narrow_one():
    narrow = perturbed(SRNet(nf=8, n_res=2, nf_mid=8, nf_hi=4), seed=1)
    wide = load_into_wider(SRNet(nf=16, n_res=2, nf_mid=12, nf_hi=8), narrow.state_dict()).eval()
    x = torch.rand(2, 3, 20, 24)
    with torch.inference_mode():
        assert torch.allclose(wide(x), narrow(x), atol=1e-6)
        assert not torch.allclose(perturbed(wide, seed=2)(x), narrow(x), atol=1e-3)  # the new channels are live
    with pytest.raises(ValueError, match="does not fit"):
        load_into_wider(SRNet(nf=4, n_res=2, nf_mid=8, nf_hi=4), narrow.state_dict())
    with pytest.raises(ValueError, match="different layers"):
        load_into_wider(SRNet(nf=8, n_res=3, nf_mid=8, nf_hi=4), narrow.state_dict())


# ---- checkerboard artefacts -------------------------------------------------------------------
def period2_amplitude(img: np.ndarray, border: int = 8) -> float:
    """RMS amplitude (grey levels) of the luma's 2-pixel periodic components: stripes along x or y
    and checkerboards, i.e. the spectrum's Nyquist rows and columns, under a Hann window so that a
    smooth gradient does not leak into them."""
    y = img[border:-border, border:-border].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    h, w = (s - s % 2 for s in y.shape)
    y = y[:h, :w] - y[:h, :w].mean()
    win = np.outer(np.hanning(h), np.hanning(w))
    spec = np.abs(np.fft.fft2(y * win)) ** 2
    fy, fx = np.abs(np.fft.fftfreq(h))[:, None], np.abs(np.fft.fftfreq(w))[None, :]
    band = (fy >= 0.5 - 1.5 / h) | (fx >= 0.5 - 1.5 / w)  # the Nyquist lines and their window spread
    return float(np.sqrt(spec[band].sum() / (h * w) / (win ** 2).sum()))


MAX_PERIOD2 = 0.4  # grey levels; a +-1 grey-level checkerboard reads 1.0


def smooth_inputs() -> dict[str, np.ndarray]:
    i, j = np.mgrid[0:72, 0:96].astype(np.float64)
    ramp = lambda v: np.clip(v, 0, 255).round().astype(np.uint8)  # noqa: E731
    radial = 40 + 150 * np.exp(-((i - 30) ** 2 + (j - 50) ** 2) / (2 * 30 ** 2))
    return {"flat grey": np.full((72, 96, 3), 118, np.uint8),
            "flat colour": np.broadcast_to(np.array([200, 90, 30], np.uint8), (72, 96, 3)).copy(),
            "horizontal ramp": np.repeat(ramp(30 + 2 * j)[..., None], 3, axis=2),
            "vertical ramp": np.stack([ramp(20 + 3 * i), ramp(200 - i), ramp(100 + i)], axis=2),
            "diagonal ramp": np.repeat(ramp(20 + i + 1.5 * j)[..., None], 3, axis=2),
            "radial": np.repeat(ramp(radial)[..., None], 3, axis=2)}


def test_period2_measure_sees_checkerboards_and_ignores_gradients():
    """The measure itself: a smooth gradient reads near zero, a 1-grey-level checkerboard or stripe
    pattern on it reads about 1, and a strided transposed convolution (the classic culprit) draws
    one on a flat input."""
    i, j = np.mgrid[0:288, 0:384].astype(np.float64)
    ramp = np.repeat((20 + 0.3 * i + 0.4 * j + 10 * np.sin(i / 40))[..., None], 3, axis=2)
    assert period2_amplitude(ramp) < 0.01
    assert period2_amplitude(ramp + ((i + j) % 2 * 2 - 1)[..., None]) > 0.9
    assert period2_amplitude(ramp + (j % 2 * 2 - 1)[..., None]) > 0.9
    deconv = nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1, output_padding=1)
    nn.init.uniform_(deconv.weight, 0.0, 1.0)
    with torch.inference_mode():
        flat = deconv(torch.full((1, 3, 36, 48), 0.5))[0].permute(1, 2, 0).numpy()
    assert period2_amplitude(flat / flat.max() * 200) > 1.0


@pytest.mark.parametrize("which", ["shipped", "random"])
def test_no_checkerboard_on_flat_or_graded_inputs(which):
    net = shipped() if which == "shipped" else perturbed(SRNet(), seed=3)
    for name, img in smooth_inputs().items():
        out = upscale(net, [img])[0]
        amp = period2_amplitude(out)
        # rounding a smooth ramp to uint8 alone can read 0.25 (Pillow's bicubic of the horizontal ramp does)
        assert amp < MAX_PERIOD2, f"{which}, {name}: 2-pixel periodic amplitude {amp:.3f} grey levels"
        if name.startswith("flat"):
            assert np.ptp(out.astype(int), axis=(0, 1)).max() <= 1, f"{which}, {name} is not flat"


# ---- use: the bicubic fallback and the cache --------------------------------------------------
def jpeg_thumb(seed: int = 0, size=(90, 72)) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)).resize(size)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.mark.parametrize("weights", ["missing", "garbage", "wrong-shape"])
def test_bicubic_fallback_with_a_warning(tmp_path, weights):
    path = tmp_path / "sr.pt"
    if weights == "garbage":
        path.write_bytes(b"not a torch file")
    elif weights == "wrong-shape":
        torch.save({"config": {"nf": 32, "n_res": 4, "nf_mid": 16, "nf_hi": 8},
                    "state_dict": SRNet(nf=8).state_dict()}, path)
    thumb = jpeg_thumb()
    up = Upscaler(path)
    with pytest.warns(SRFallbackWarning, match="bicubic"):
        out = up.pixels([thumb])[0]
    assert up.method == "bicubic"
    assert np.array_equal(out, bicubic(thumb_pixels(thumb)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, not once per thumbnail
        assert up.pixels([jpeg_thumb(1)])[0].shape == (288, 360, 3)


def test_fallback_when_the_network_fails(monkeypatch):
    import nounlens.models.sr as sr

    def broken(net, images):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(sr, "upscale", broken)
    up = Upscaler()
    with pytest.warns(SRFallbackWarning, match="out of memory"):
        out = up.pixels([jpeg_thumb()])
    assert out[0].shape == (288, 360, 3)


def test_upscaled_thumbnails_are_cached(monkeypatch):
    import nounlens.models.sr as sr

    calls = []
    real = sr.upscale
    monkeypatch.setattr(sr, "upscale", lambda net, images: calls.append(len(images)) or real(net, images))
    up = Upscaler()
    a, b = jpeg_thumb(0), jpeg_thumb(1, (72, 72))
    first = up.pixels([a, b, a])
    assert calls == [2] and up.method == "sr"
    again = up.pixels([b, a])
    assert calls == [2]  # nothing recomputed
    assert again[1] is first[0] and again[0].shape == (288, 288, 3)


def test_thumb_command_on_a_path_outside_any_catalogue(tmp_path, monkeypatch):
    from nounlens.cli.main import main

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(photo)
    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(tmp_path / "no-catalogue"))
    out = tmp_path / "x4.png"
    assert main(["thumb", str(photo), "--out", str(out)]) == 0
    with Image.open(out) as im:
        assert im.size == (384, 288)  # the indexer's 72-px short-side thumbnail, x4
    assert main(["thumb", str(tmp_path / "nope.jpg"), "--out", str(out)]) == 1
