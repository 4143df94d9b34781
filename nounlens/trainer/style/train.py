"""Training a feed-forward stylizer for one painting (Johnson, Alahi & Fei-Fei 2016) on any photos.

Each photo is decoded once, its short side resized to the crop size (long side capped at 4/3 of it),
and kept in memory; every step takes random square crops, flipped half the time. The loss is the
same as the pixel optimisation's (models/style_losses.py): content against the input photo, Gram
style against the painting seen at `style_size` pixels on its long side, plus total variation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from nounlens.data.errors import NounlensError
from nounlens.data.images import ImageError, open_rgb, resize_short_side
from nounlens.search.restyle import settings as best
from nounlens.trainer.sr.train import list_photos, split


@dataclass
class StyleTrainConfig:
    style: str
    data: list[str]
    out: str
    steps: int = 600
    batch_size: int = 4
    crop: int = 160
    lr: float = 2e-3
    content_weight: float = best.CONTENT_WEIGHT
    style_weight: float = best.STYLIZER_STYLE_WEIGHT
    tv_weight: float = best.TV_WEIGHT
    style_size: int = 512  # the painting's long side, in pixels, when its Gram matrices are taken
    style_taps: tuple[str, ...] = best.STYLE_TAPS
    style_weights: tuple[float, ...] = best.STYLE_WEIGHTS
    content_tap: str = best.CONTENT_TAP
    softmax: float | None = best.SOFTMAX
    val_fraction: float = 0.02
    seed: int = 0
    threads: int = 0  # 0: all cores
    bf16: bool = False  # measured no faster for these narrow layers
    checkpoint_every: int = 50
    eval_every: int = 100
    resume: bool = True
    widths: list[int] = field(default_factory=lambda: [16, 32, 64])
    n_res: int = 5


def load_photos(paths: list[str], crop: int, progress: bool = True, desc: str = "photos") -> list[np.ndarray]:
    """uint8 photos, short side `crop`, long side at most 4/3 of it (centre); unreadable photos and
    ones smaller than 3/4 of the crop are skipped (named for the unreadable ones)."""
    out = []
    for p in tqdm(paths, desc=desc, unit="photo", disable=not progress):
        try:
            img = open_rgb(p, min_side=crop)
        except (ImageError, OSError) as e:
            tqdm.write(f"skipped {p}: {e}")
            continue
        if min(img.size) < 0.75 * crop:
            continue
        a = np.asarray(resize_short_side(img, crop, Image.Resampling.LANCZOS), dtype=np.uint8)
        cap = crop * 4 // 3
        i, j = max(0, (a.shape[0] - cap) // 2), max(0, (a.shape[1] - cap) // 2)
        out.append(np.ascontiguousarray(a[i:i + cap, j:j + cap]))
    return out


def random_crops(photos: list[np.ndarray], rng: np.random.Generator, n: int, crop: int) -> np.ndarray:
    out = []
    for k in rng.integers(len(photos), size=n):
        a = photos[k]
        i, j = int(rng.integers(a.shape[0] - crop + 1)), int(rng.integers(a.shape[1] - crop + 1))
        c = a[i:i + crop, j:j + crop]
        out.append(c[:, ::-1] if rng.random() < 0.5 else c)
    return np.stack(out)


def centre_crops(photos: list[np.ndarray], crop: int) -> np.ndarray:
    return np.stack([a[(a.shape[0] - crop) // 2:(a.shape[0] - crop) // 2 + crop,
                       (a.shape[1] - crop) // 2:(a.shape[1] - crop) // 2 + crop] for a in photos])


def to_tensor(batch: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2))).float().div_(255.0)


def train(cfg: StyleTrainConfig, progress: bool = True, command: str = "") -> dict:
    """Train, checkpointing to OUT.ckpt (resumed from if present), and write the weights (float16)
    with how they were made to `out`; OUT.preview.jpg shows validation photos at each validation."""
    import torch

    from nounlens.models.stylizer import TransformNet, save_weights
    from nounlens.models.threads import torch_threads
    from nounlens.search.restyle.optimise import flush_denormals, load_rgb
    from nounlens.trainer.loop import fit, record

    with torch_threads(cfg.threads):
        torch.manual_seed(cfg.seed)
        out = Path(cfg.out).expanduser()
        painting = load_rgb(cfg.style, cfg.style_size)
        train_photos, val_photos = training_photos(cfg, progress)
        net = TransformNet(tuple(cfg.widths), cfg.n_res)
        step_loss, validate = objectives(cfg, net, painting, train_photos, val_photos, out)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        out.parent.mkdir(parents=True, exist_ok=True)
        with flush_denormals():  # the loss network's tiny deep gradients: 2-3x slower as denormals
            state = fit(cfg, net, opt, out.with_name(out.name + ".ckpt"), step_loss,
                        validate if val_photos else None, "train style", progress, validation_line)
        trained = record(cfg, state, command, cfg.data, train_photos=len(train_photos), val_photos=len(val_photos))
    trained["painting"] = {"path": str(Path(cfg.style).expanduser()), "name": Path(cfg.style).stem,
                           "sha256": hashlib.sha256(Path(cfg.style).expanduser().read_bytes()).hexdigest()}
    save_weights(net, out, trained)
    return trained


def training_photos(cfg: StyleTrainConfig, progress: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(train photos, up to 16 validation photos) of `cfg.data`, decoded at the crop size."""
    photos = list_photos(cfg.data)
    train_paths, val_paths = split(photos, [], cfg.val_fraction, cfg.seed)
    tqdm.write(f"{len(photos)} photos: {len(train_paths)} train, {len(val_paths)} validation")
    train_photos = load_photos(train_paths, cfg.crop, progress, "train photos")
    val_photos = load_photos(val_paths, cfg.crop, progress, "val photos")[:16]
    if not train_photos:
        raise NounlensError(f"no photo has a short side of {cfg.crop * 3 // 4} px or more: nothing to train on")
    return train_photos, val_photos


def objectives(cfg: StyleTrainConfig, net, painting: np.ndarray, train_photos: list[np.ndarray],
               val_photos: list[np.ndarray], out: Path):
    """(step_loss, validate) for the loop: content + Gram style + total variation on random crops, and
    the same on the validation photos' centre crops, drawn into OUT.preview.jpg (photos above, results below)."""
    import torch

    from nounlens.models.style_losses import StyleLoss, total_variation

    vx = to_tensor(centre_crops(val_photos, cfg.crop)) if val_photos else None
    loss_fn = StyleLoss(cfg.style_taps, cfg.style_weights, cfg.content_tap, cfg.softmax)
    targets = loss_fn.style_targets(torch.from_numpy(np.ascontiguousarray(painting.transpose(2, 0, 1)))[None])

    def losses(x):
        y = net(x)
        parts = loss_fn.parts(y, loss_fn.content_target(x), [(targets, None)])
        tv = total_variation(y.float()).mean()
        total = (cfg.content_weight * parts["content"].mean() + cfg.style_weight * parts["style"].mean()
                 + cfg.tv_weight * tv)
        return total, {"loss": total.item(), "content": parts["content"].mean().item(),
                       "style": parts["style"].mean().item(), "tv": tv.item()}, y

    def step_loss(rng):
        total, shown, _ = losses(to_tensor(random_crops(train_photos, rng, cfg.batch_size, cfg.crop)))
        return total, shown

    def validate() -> dict:
        with torch.inference_mode():
            _, shown, y = losses(vx)
        preview = torch.cat([vx[:4], y[:4].float()], dim=2)  # photos above, results below
        grid = (preview.clamp(0, 1).permute(2, 0, 3, 1).reshape(2 * cfg.crop, -1, 3) * 255).byte().numpy()
        Image.fromarray(grid).save(out.with_name(out.name + ".preview.jpg"), quality=90)
        return {f"val_{k}": round(v, 5) for k, v in shown.items()}

    return step_loss, validate


def validation_line(row: dict) -> str:
    return (f"step {row['step']}: validation content {row['val_content']:.4f}, style {row['val_style']:.4f}, "
            f"loss {row['val_loss']:.4f}")
