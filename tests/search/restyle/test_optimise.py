"""Restyling: the Gram matrix, the losses, a few optimisation steps on real photos, colour
preservation, masks, the transform network, stylizer training with checkpoints, the shipped stylizer
and the CLI. Real photos from scikit-image; small sizes so the file runs in seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nounlens.cli.main import main
from nounlens.data.errors import NounlensError
from nounlens.models.style_losses import StyleLoss, gram, total_variation
from nounlens.models.stylizer import SHIPPED, TransformNet, load_weights, stylize
from nounlens.search.restyle.colour import keep_chroma, match_colours, to_ycbcr
from nounlens.search.restyle.optimise import GatysConfig, load_rgb, make_mask, transfer
from nounlens.search.restyle.settings import CONTENT_TAP, STYLE_TAPS, STYLE_WEIGHTS

FAST = dict(size=64, steps=12, threads=1)  # small and few: what the tests need is the direction


def skimage_photo(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return skimage_photo("coffee")  # 400 x 600 RGB


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    return skimage_photo("astronaut")  # a different picture, standing in for a painting


# ---- the losses -------------------------------------------------------------------------------
def test_gram_matrix_by_hand():
    # two channels over a 1 x 2 image: channel 0 = (1, 2), channel 1 = (3, 4)
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    want = torch.tensor([[1 * 1 + 2 * 2, 1 * 3 + 2 * 4], [3 * 1 + 4 * 2, 3 * 3 + 4 * 4]]) / 2
    assert torch.allclose(gram(f)[0], want)
    only_first = gram(f, torch.tensor([[[[1.0, 0.0]]]]))[0]  # the mask keeps the first position only
    assert torch.allclose(only_first, torch.tensor([[1.0, 3.0], [3.0, 9.0]]))


def test_style_and_content_loss_zero_for_identical_images(photo, painting):
    loss = StyleLoss(STYLE_TAPS, STYLE_WEIGHTS, CONTENT_TAP)
    x = torch.from_numpy(load_rgb(photo, 96).transpose(2, 0, 1).copy())[None]
    y = torch.from_numpy(load_rgb(painting, area=x.shape[2] * x.shape[3]).transpose(2, 0, 1).copy())[None]
    same = loss.parts(x, loss.content_target(x), [(loss.style_targets(x), None)])
    assert float(same["style"]) < 1e-10 and float(same["content"]) < 1e-10
    other = loss.parts(x, loss.content_target(x), [(loss.style_targets(y), None)])
    assert float(other["style"]) > 1e-3  # a different picture has a different style
    assert (other["layers"] > 0).all()


def test_loss_network_is_frozen_and_tv_sees_noise():
    loss = StyleLoss(STYLE_TAPS, STYLE_WEIGHTS, CONTENT_TAP)
    loss.train()
    assert not any(p.requires_grad for p in loss.parameters())
    assert not loss.net.early.training
    flat, noisy = torch.full((1, 3, 16, 16), 0.5), torch.rand(1, 3, 16, 16)
    assert float(total_variation(flat)) == 0 and float(total_variation(noisy)) > 0.1


# ---- pixel optimisation -----------------------------------------------------------------------
def test_a_few_steps_lower_the_total_loss_on_real_images(photo, painting):
    r = transfer(photo, painting, GatysConfig(**FAST), progress=False)
    assert r["evaluations"] == FAST["steps"]
    assert r["losses"]["total"] < 0.7 * r["start"]["total"]
    assert r["image"].shape == (43, 64, 3) and r["image"].dtype == np.uint8


@pytest.mark.parametrize("init", ["blur", "content", "noise"])
def test_start_images(photo, painting, init):
    r = transfer(photo, painting, GatysConfig(init=init, **{**FAST, "steps": 1}), progress=False)
    p = load_rgb(photo, FAST["size"])
    if init == "content":
        assert r["start"]["content"] < 1e-8
    else:  # noise is far from the photo; blurred noise is smooth (little total variation)
        assert r["start"]["content"] > 0.1
    if init == "blur":
        assert float(total_variation(torch.from_numpy(r["image"].transpose(2, 0, 1) / 255.0)[None])) < \
            float(total_variation(torch.from_numpy(p.transpose(2, 0, 1).copy())[None]))


def test_colour_preservation_keeps_the_photos_chroma(photo, painting):
    p = (load_rgb(photo, FAST["size"]) * 255 + 0.5).astype(np.uint8)
    plain = transfer(photo, painting, GatysConfig(**FAST), progress=False)["image"]
    kept = transfer(photo, painting, GatysConfig(colour="luminance", **FAST), progress=False)["image"]

    def cbcr(a):
        return to_ycbcr(a.astype(np.float32) / 255.0)[..., 1:] * 255

    diff = np.abs(cbcr(kept) - cbcr(p))
    assert np.percentile(diff, 99) < 2.5 and diff.mean() < 0.6  # rounding and clipping only
    assert np.abs(cbcr(plain) - cbcr(p)).mean() > 3 * diff.mean()  # without it, the colours move
    assert np.abs(kept.astype(int) - p.astype(int)).mean() > 3  # and the luminance was still restyled


def test_colour_matching_gives_the_painting_the_photos_colour_statistics(photo, painting):
    p, s = load_rgb(photo, 96), load_rgb(painting, 96)
    m = match_colours(s, p)
    assert np.allclose(m.reshape(-1, 3).mean(0), p.reshape(-1, 3).mean(0), atol=0.02)
    assert np.allclose(np.cov(m.reshape(-1, 3).T), np.cov(p.reshape(-1, 3).T), atol=0.004)
    assert np.allclose(keep_chroma(p, p), p, atol=1e-5)


def test_masked_pixels_stay_the_photos(photo, painting):
    cfg = GatysConfig(**FAST)
    r = transfer(photo, painting, cfg, mask="left", progress=False)["image"].astype(int)
    p = (load_rgb(photo, cfg.size) * 255 + 0.5).astype(int)
    w = p.shape[1]
    edge = int(0.1 * w)  # past the feathered edge
    assert np.abs(r[:, w // 2 + edge:] - p[:, w // 2 + edge:]).max() <= 1
    assert np.abs(r[:, :w // 2 - edge] - p[:, :w // 2 - edge]).mean() > 5  # the styled half changed


def test_two_paintings_in_two_regions(photo, painting):
    m = make_mask("left", 43, 64)
    assert m[:, :20].min() > 0.99 and m[:, -20:].max() < 0.01
    # the loss: a picture that is painting A on the left and B on the right matches "A left, B right"
    # far better than the swapped assignment
    a = load_rgb(painting, 128)[:64, :64]
    b = load_rgb(skimage_photo("hubble_deep_field"), 128)[:64, :64]
    loss = StyleLoss(STYLE_TAPS, STYLE_WEIGHTS, CONTENT_TAP)

    def t(img):
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]

    x, left = t(np.concatenate([a, b], axis=1)), torch.zeros(1, 1, 64, 128)
    left[..., :64] = 1
    ta, tb = loss.style_targets(t(a)), loss.style_targets(t(b))
    right_way = float(loss.parts(x, None, [(ta, left), (tb, 1 - left)])["style"])
    swapped = float(loss.parts(x, None, [(tb, left), (ta, 1 - left)])["style"])
    assert right_way < 0.25 * swapped  # not 0: deep features see across the border
    # the optimisation lowers the two regions' style losses together
    r = transfer(photo, painting, GatysConfig(**FAST), mask="left", style2=skimage_photo("hubble_deep_field"),
                 progress=False)
    assert r["losses"]["style"] < 0.8 * r["start"]["style"]
    with pytest.raises(NounlensError, match="mask"):
        transfer(photo, painting, GatysConfig(**FAST), style2=painting, progress=False)


def test_bad_options_are_one_line_errors(photo, painting, tmp_path):
    with pytest.raises(NounlensError, match="--init"):
        transfer(photo, painting, GatysConfig(init="grey", **{k: v for k, v in FAST.items()}), progress=False)
    with pytest.raises(NounlensError, match="no such image"):
        transfer(tmp_path / "missing.jpg", painting, GatysConfig(**FAST), progress=False)
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(NounlensError, match="cannot use"):
        transfer(photo, tmp_path / "bad.jpg", GatysConfig(**FAST), progress=False)
    with pytest.raises(NounlensError, match="--mask"):
        make_mask("diagonal", 10, 10)


# ---- the one-pass stylizer ---------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 37, 50)])
def test_transform_network_keeps_the_input_size(shape):
    net = TransformNet((8, 16, 16), 1).eval()
    with torch.inference_mode():
        y = net(torch.rand(shape))
    assert y.shape == shape and y.min() >= 0 and y.max() <= 1


def test_shipped_stylizer_small_loads_and_restyles(photo):
    path = SHIPPED["irises"]
    assert path.is_file() and path.stat().st_size < 5 * 2**20
    net, trained = load_weights("irises")
    assert trained["steps"] > 0 and trained["painting"]["name"] == "irises"
    assert all("styles" not in d for d in trained["data"])  # never the content photos
    small = (load_rgb(photo, 130) * 255).astype(np.uint8)  # odd sizes come back unchanged
    out = stylize(net, small)
    assert out.shape == small.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - small.astype(int)).mean() > 10


def test_training_steps_checkpoints_and_resume(tmp_path):
    from conftest import copy_photos

    from nounlens.trainer.style.train import StyleTrainConfig, train

    photos = copy_photos(["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_right.png"],
                         tmp_path / "photos")
    Image.fromarray(skimage_photo("hubble_deep_field")).save(tmp_path / "painting.png")
    cfg = StyleTrainConfig(style=str(tmp_path / "painting.png"), data=[str(photos[0].parent)],
                           out=str(tmp_path / "s.pt"), steps=12, batch_size=2, crop=48, lr=5e-3, style_size=96,
                           val_fraction=0.2, checkpoint_every=4, eval_every=6, widths=[8, 16, 16], n_res=1, threads=1)
    first = train(cfg, progress=False)
    assert first["steps"] == 12 and first["train_photos"] == 4 and first["val_photos"] == 1
    assert (tmp_path / "s.pt.ckpt").exists() and (tmp_path / "s.pt.preview.jpg").exists()
    h = first["history"]
    assert [r["step"] for r in h] == [6, 12] and h[-1]["val_style"] < h[0]["val_style"] * 1.05
    cfg.steps = 14
    again = train(cfg, progress=False)  # resumes: two more steps, history kept
    assert again["steps"] == 14 and [r["step"] for r in again["history"]] == [6, 12, 14]
    net, trained = load_weights(tmp_path / "s.pt")
    assert trained["steps"] == 14 and net.config["widths"] == [8, 16, 16]
    cfg.crop = 40
    with pytest.raises(NounlensError, match="other settings"):
        train(cfg, progress=False)


# ---- the CLI ----------------------------------------------------------------------------------
def test_cli_style_with_the_shipped_stylizer_and_errors(tmp_path, capsys):
    from conftest import copy_photos

    photo = copy_photos(["coffee.png"], tmp_path)[0]
    out = tmp_path / "out.png"
    assert main(["style", str(photo), "--out", str(out), "--size", "96", "--colour", "luminance", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "stylizer:style-irises" and (d["width"], d["height"]) == (96, 64)
    assert Image.open(out).size == (96, 64)
    assert main(["style", str(photo), "--out", str(tmp_path / "x.gif")]) == 1
    assert "give a .png" in capsys.readouterr().err
    assert main(["style", str(photo), "--out", str(out), "--colour", "histogram"]) == 1
    assert "needs --style" in capsys.readouterr().err.strip()
    assert main(["style", str(tmp_path / "none.jpg"), "--out", str(out)]) == 1
    assert "no such photo" in capsys.readouterr().err


def test_cli_style_by_optimisation_with_a_mask(tmp_path, capsys):
    from conftest import copy_photos

    photo, style = copy_photos(["coffee.png", "astronaut.png"], tmp_path)
    out = tmp_path / "out.jpg"
    assert main(["style", str(photo), "--style", str(style), "--out", str(out), "--size", "64", "--steps", "5",
                 "--mask", "right", "--threads", "1"]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"wrote {out} (64x43, optimisation") and "style loss" in line


# ---- the product: Engine and the UI's restyle panel ---------------------------------------------
@pytest.mark.slow
def test_engine_and_ui_restyle_an_opened_result(tmp_path, monkeypatch):
    from conftest import copy_photos
    from streamlit.testing.v1 import AppTest
    from ui_support import APP

    from nounlens.search.engine import Engine

    gallery = copy_photos(["coffee.png", "rocket.jpg"], tmp_path / "gallery")[0].parent
    engine = Engine.open(tmp_path / "cat", create=True)
    engine.index([gallery], workers=0, progress=False)
    i = engine.catalogue.id_for_path(str(gallery / "coffee.png"))
    r = engine.stylize(i, size=96)
    assert r.method == "stylizer:style-irises" and r.image.shape == (64, 96, 3)
    with pytest.raises(NounlensError, match="no photo with id"):
        engine.stylize(10**9)
    engine.catalogue.close()

    monkeypatch.setenv("NOUNLENS_CATALOGUE", str(tmp_path / "cat"))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.session_state.open_id = i
    at = at.radio(key="view").set_value("Photo").run()
    at = at.button(key="restyle_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("stylizer:style-irises" in c for img in at.get("image") for c in img.captions)
