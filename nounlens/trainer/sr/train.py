"""Training the x4 thumbnail super-resolution network, self-supervised on any folder of photos.

Each photo gives one pair: its thumbnail made by the indexer's own code (decode() -> make_thumbnail:
JPEG draft decode, Lanczos to a 72-px short side, JPEG quality 85) and the photo resized to exactly
four times the thumbnail's size. Photos too small for a 288-px target (short side < 288) are used at
the largest x4 pair they allow, with the same thumbnail function at a smaller side. Pairs are decoded
once and held in memory; every step takes random aligned crops from them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nounlens.data.errors import NounlensError
from nounlens.data.images import ImageError
from nounlens.data.pairs import HOLDOUT_CSV, Pair, holdout_paths, make_pair
from nounlens.data.walk import FileEntry, walk


def list_photos(folders: list[str | Path]) -> list[str]:
    paths = sorted(e.path for e in walk(folders) if isinstance(e, FileEntry))
    if not paths:
        raise NounlensError(f"no photos under {', '.join(map(str, folders))}")
    return paths


def split(paths: list[str], holdout: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, val): held-out photos removed, then a seeded `val_fraction` kept for validation."""
    held = set(holdout)
    rest = [p for p in paths if p not in held]
    random.Random(seed).shuffle(rest)
    n_val = int(round(len(rest) * val_fraction))
    return sorted(rest[n_val:]), sorted(rest[:n_val])


def load_pairs(paths: list[str], min_lr: int, progress: bool = True, desc: str = "pairs") -> list[Pair]:
    """Decode each photo into a pair; photos that fail or are too small are skipped with a line."""
    pairs = []
    for p in tqdm(paths, desc=desc, unit="photo", disable=not progress):
        try:
            pair = make_pair(p)
        except (ImageError, OSError) as e:
            tqdm.write(f"skipped {p}: {e}")
            continue
        if min(pair.lr.shape[:2]) >= min_lr:
            pairs.append(pair)
    return pairs


def random_crops(pairs: list[Pair], rng: np.random.Generator, n: int, crop: int,
                 scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """n aligned random crops (LR crop x crop, HR scale*crop), flipped left-right half the time."""
    xs, ys = [], []
    for k in rng.integers(len(pairs), size=n):
        lr, hr = pairs[k].lr, pairs[k].hr
        i = int(rng.integers(lr.shape[0] - crop + 1))
        j = int(rng.integers(lr.shape[1] - crop + 1))
        a = lr[i:i + crop, j:j + crop]
        b = hr[i * scale:(i + crop) * scale, j * scale:(j + crop) * scale]
        if rng.random() < 0.5:
            a, b = a[:, ::-1], b[:, ::-1]
        xs.append(a)
        ys.append(b)
    return np.stack(xs), np.stack(ys)


def centre_crops(pairs: list[Pair], crop: int, scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for pair in pairs:
        i, j = (pair.lr.shape[0] - crop) // 2, (pair.lr.shape[1] - crop) // 2
        xs.append(pair.lr[i:i + crop, j:j + crop])
        ys.append(pair.hr[i * scale:(i + crop) * scale, j * scale:(j + crop) * scale])
    return np.stack(xs), np.stack(ys)


@dataclass
class TrainConfig:
    data: list[str]
    out: str
    steps: int = 700
    batch_size: int = 16
    crop: int = 32  # low-res crop side; the target is 4x this
    lr: float = 2e-3
    feature_weight: float = 0.05  # the shipped chain's first run ("unit"; docs/sr.md); 5e-4 balances "mse"
    pixel_weight: float = 1.0
    feature_loss: str = "unit"  # "unit" (channel-normalised, LPIPS-like) or "mse" (Johnson et al.)
    taps: tuple[int, ...] = (0, 2, 4)  # loss-network blocks compared
    tap_weights: tuple[float, ...] | None = None  # one per tap (default: all 1)
    init: str | None = None  # start from these weights (fine-tuning) instead of bicubic-like zero output
    val_fraction: float = 0.05
    holdout_csv: str = HOLDOUT_CSV
    seed: int = 0
    threads: int = 0  # 0: all cores
    bf16: bool = True  # bfloat16 autocast for the convolutions (AMX/AVX-512 CPUs are ~1.5x faster)
    checkpoint_every: int = 50
    eval_every: int = 100
    resume: bool = True
    width: dict = field(default_factory=lambda: {"nf": 48, "n_res": 6, "nf_mid": 24, "nf_hi": 12})


def to_tensor(batch: np.ndarray):
    import torch

    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last)


def psnr(a, b) -> float:
    """RGB PSNR over a batch of [0, 1] tensors (a quick validation figure; eval uses the Y channel)."""
    mse = float(((a.float().clamp(0, 1) - b.float()) ** 2).mean())
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def train(cfg: TrainConfig, progress: bool = True, command: str = "") -> dict:
    """Train, checkpointing to OUT.ckpt every `checkpoint_every` steps (resumed from if present),
    and write the final weights with how they were made to `out`."""
    import torch

    from nounlens.models.sr import save_weights
    from nounlens.models.threads import torch_threads
    from nounlens.trainer.loop import fit, record

    with torch_threads(cfg.threads):
        torch.manual_seed(cfg.seed)
        out = Path(cfg.out).expanduser()
        photos, held, train_pairs, val_pairs = training_pairs(cfg, progress)
        net = build_net(cfg)
        step_loss, validate = objectives(cfg, net, train_pairs, val_pairs)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        state = fit(cfg, net, opt, out.with_name(out.name + ".ckpt"), step_loss,
                    validate if val_pairs else None, "train sr", progress, validation_line)
        trained = record(cfg, state, command, cfg.data, train_photos=len(train_pairs), val_photos=len(val_pairs),
                         held_out=len(set(held) & set(photos)))
    save_weights(net, out, trained)
    return trained


def training_pairs(cfg: TrainConfig, progress: bool) -> tuple[list[str], list[str], list[Pair], list[Pair]]:
    """(photos, held-out photos, train pairs, validation pairs) of `cfg.data`."""
    photos = list_photos(cfg.data)
    held = holdout_paths(cfg.data, cfg.holdout_csv)
    train_paths, val_paths = split(photos, held, cfg.val_fraction, cfg.seed)
    tqdm.write(f"{len(photos)} photos: {len(train_paths)} train, {len(val_paths)} validation, "
               f"{len(set(held) & set(photos))} held out ({cfg.holdout_csv})")
    train_pairs = load_pairs(train_paths, cfg.crop, progress, "train pairs")
    val_pairs = load_pairs(val_paths, cfg.crop, progress, "val pairs")
    if not train_pairs:
        raise NounlensError(f"no photo gives a {cfg.crop}-px thumbnail crop: nothing to train on")
    return photos, held, train_pairs, val_pairs


def build_net(cfg: TrainConfig):
    """A fresh network of `cfg.width`, or one that starts as the weights `cfg.init` (the same widths, or
    wider ones that start as exactly the given network)."""
    import torch

    from nounlens.models.blocks import load_into_wider
    from nounlens.models.sr import SRNet, load_weights

    net = SRNet(**cfg.width)
    if cfg.init:
        start, _ = load_weights(cfg.init)
        try:
            load_into_wider(net, start.state_dict())
        except ValueError as e:
            raise NounlensError(f"--init {cfg.init} has widths {start.config}, "
                                f"which do not fit {cfg.width}: {e}") from None
    return net.to(memory_format=torch.channels_last)


def objectives(cfg: TrainConfig, net, train_pairs: list[Pair], val_pairs: list[Pair]):
    """(step_loss, validate) for the loop: the perceptual + pixel loss on random crops, and PSNR against
    bicubic on the validation photos' centre crops."""
    import torch
    from torch.nn import functional as F

    from nounlens.models.perceptual import FeatureLoss

    vx, vy = centre_crops(val_pairs, cfg.crop) if val_pairs else (None, None)
    loss_fn = FeatureLoss(cfg.feature_weight, cfg.pixel_weight, taps=tuple(cfg.taps), unit=cfg.feature_loss == "unit",
                          tap_weights=cfg.tap_weights).to(memory_format=torch.channels_last)

    def step_loss(rng):
        x, y = (to_tensor(a) for a in random_crops(train_pairs, rng, cfg.batch_size, cfg.crop))
        parts = loss_fn.parts(net(x), y)
        loss = cfg.feature_weight * parts["feature"] + cfg.pixel_weight * parts["pixel"]
        return loss, {"loss": loss.item(), "feat": parts["feature"].item(), "pix": parts["pixel"].item()}

    def validate() -> dict:
        with torch.inference_mode():
            x, y = to_tensor(vx), to_tensor(vy)
            sr = torch.cat([net(x[i:i + 64]) for i in range(0, len(x), 64)])
            bic = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
            return {"val_psnr": round(psnr(sr, y), 3), "bicubic_psnr": round(psnr(bic, y), 3),
                    "val_loss": round(float(loss_fn(sr, y)), 5)}

    return step_loss, validate


def validation_line(row: dict) -> str:
    return (f"step {row['step']}: validation PSNR {row['val_psnr']:.2f} dB "
            f"(bicubic {row['bicubic_psnr']:.2f}), loss {row['val_loss']:.4f}")
