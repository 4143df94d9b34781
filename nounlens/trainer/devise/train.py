"""DeViSE (Frome et al. 2013): train a head from pooled backbone features into the text space.

Targets are sparse weights over a label set whose first 1,000 entries are the ImageNet-1k classes:
a hard label is one entry of weight 1; a soft target spreads weight over the backbone's own top-T
softmax classes, so any photo, labelled or not, can teach the head. Losses: the paper's hinge rank
loss (margin 0.1, summed over every other label vector) and the cosine loss of the fast.ai course.
Training runs on cached features (models.features), so an epoch takes seconds; it runs in the shared
loop (trainer.loop), an epoch being a number of steps, checkpoints every epoch, resumes, and is
deterministic given a seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nounlens.data.errors import NounlensError
from nounlens.data.paths import cache_dir
from nounlens.models.backbone import softmax
from nounlens.models.heads import Head, build_head, head_arrays

LOSSES = ("hinge", "cosine")


@dataclass
class DeviseConfig:
    head: str = "linear"  # "linear" (the paper's M) or "mlp"
    hidden: int = 1024
    dropout: float = 0.1
    loss: str = "hinge"
    margin: float = 0.1
    soft: float = 0.0  # weight of the soft target on labelled photos (unlabelled photos use only it)
    soft_top: int = 10  # T: how many softmax classes make a soft target
    temperature: float = 1.0  # softmax temperature of the soft target
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.05
    seed: int = 0
    init: str = "random"  # "classifier": start the linear head at the logit-weighted mix of class vectors
    unit: bool = False  # hinge on unit-length predictions (the paper's hinge uses the raw M v)

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise NounlensError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if not 0.0 <= self.soft <= 1.0:
            raise NounlensError(f"--soft must be between 0 and 1, not {self.soft}")
        if self.init not in ("random", "classifier"):
            raise NounlensError(f"unknown init {self.init!r}; choose random or classifier")
        if self.init == "classifier" and self.head != "linear":
            raise NounlensError("--init classifier needs the linear head")


@dataclass
class TrainingSet:
    """Cached features of every training view, with targets as sparse weights over the label set."""

    features: np.ndarray  # (M, 1280) float16: every (view, photo) pair
    photo: np.ndarray  # (M,) which photo a row is a view of (the validation split is by photo)
    target_idx: np.ndarray  # (M, K) label-set indices
    target_w: np.ndarray  # (M, K) weights, rows sum to 1
    label_vectors: np.ndarray  # (L, d) unit vectors of the label set, ImageNet-1k classes first
    classifier: tuple[np.ndarray, np.ndarray] | None = None  # the backbone's fc: (1280, 1000) weight, (1000,) bias


def sparse_targets(labels: np.ndarray, probs_top: np.ndarray, probs_w: np.ndarray, soft: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Mix hard labels (index or -1 for unlabelled) with soft top-T targets: (idx, w) of shape (M, 1+T)."""
    hard_w = np.where(labels >= 0, 1.0 - soft, 0.0)[:, None]
    soft_w = np.where(labels >= 0, soft, 1.0)[:, None] * probs_w
    idx = np.concatenate([np.maximum(labels, 0)[:, None], probs_top], axis=1)
    w = np.concatenate([hard_w, soft_w], axis=1).astype(np.float32)
    return idx.astype(np.int64), w


def soft_top(logits: np.ndarray, top: int, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The backbone's top-T classes and their softmax weights, renormalised to sum to 1."""
    p = softmax(np.asarray(logits, dtype=np.float32) / temperature)
    idx = np.argsort(-p, axis=1)[:, :top]
    w = np.take_along_axis(p, idx, axis=1)
    return idx, w / w.sum(axis=1, keepdims=True)


# ---- losses ---------------------------------------------------------------------------------------
def hinge_rank_loss(pred, label_vectors, idx, w, margin: float = 0.1):
    """Frome et al. eq. 1: sum over other labels j of max(0, margin - t_y.v + t_j.v), averaged over the
    batch; with several weighted targets y, the weighted sum of each target's loss."""
    import torch

    scores = pred @ label_vectors.T  # (B, L)
    pos = scores.gather(1, idx)  # (B, K)
    per_target = torch.relu(margin - pos[:, :, None] + scores[:, None, :]).sum(-1) - margin  # drop j == y
    return (per_target * w).sum(1).mean()


def cosine_loss(pred, label_vectors, idx, w):
    """fast.ai's DeViSE: 1 - cos(v, target), the target being the weighted mean of the label vectors."""
    import torch.nn.functional as F

    target = (label_vectors[idx] * w[:, :, None]).sum(1)
    return (1 - F.cosine_similarity(pred, target, dim=1)).mean()


def compute_loss(cfg: DeviseConfig, pred, label_vectors, idx, w):
    if cfg.loss == "hinge":
        if cfg.unit:
            import torch.nn.functional as F

            pred = F.normalize(pred, dim=1)
        return hinge_rank_loss(pred, label_vectors, idx, w, cfg.margin)
    return cosine_loss(pred, label_vectors, idx, w)


# ---- training -------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    head: Head
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def checkpoint_path(out: Path) -> Path:
    tag = hashlib.sha256(str(out.absolute()).encode()).hexdigest()[:12]
    return cache_dir() / "checkpoints" / f"{out.stem}-{tag}.ckpt"


def split_photos(photo: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of validation rows: whole photos (all their views) held out, chosen by seed."""
    ids = np.unique(photo)
    n_val = int(round(len(ids) * fraction))
    held = np.random.default_rng([seed, 1]).permutation(ids)[:n_val]
    return np.isin(photo, held)


def train_devise(data: TrainingSet, cfg: DeviseConfig, out: str | Path | None = None, meta: dict | None = None,
                 resume: bool = True, progress: bool = True, steps: int | None = None) -> TrainResult:
    """Train a head in the shared loop (trainer/loop.py), an epoch being one pass over the training rows;
    `steps` stops early (tests). Checkpoints, at whole epochs, go to the cache, keyed by `out`."""
    import torch

    from nounlens.trainer.loop import Plan, Run

    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    val = split_photos(data.photo, cfg.val_fraction, cfg.seed)
    model = build_model(data, cfg, np.flatnonzero(~val))
    epochs = Epochs(data, cfg, model, np.flatnonzero(~val), np.flatnonzero(val))
    total = epochs.per_epoch * cfg.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.1)
    config = dataclasses.asdict(cfg) | {"rows": len(data.features), "dim": data.label_vectors.shape[1]}
    run = Run(model, opt, cfg.seed, config, checkpoint_path(Path(out)) if out else None, sched)
    if resume and run.resume() and progress:
        print(f"resuming from epoch {run.state['step'] // epochs.per_epoch} ({run.ckpt})", file=sys.stderr)
    plan = Plan(total, eval_every=epochs.per_epoch, checkpoint_every=epochs.per_epoch, limit=steps)
    state = run.run(plan, epochs.step_loss, epochs.validate, EpochBars(epochs.per_epoch, cfg.epochs, progress),
                    epochs.line if progress else None, sys.stderr)
    model.eval()
    return finish(model, cfg, state["history"], meta, time.perf_counter() - t0, out)


def build_model(data: TrainingSet, cfg: DeviseConfig, train_rows: np.ndarray):
    """The head, its inputs standardised by the training rows' mean and spread; at the classifier's
    logit-weighted class mix when `cfg.init` says so."""
    feats = data.features
    mean = feats[train_rows].astype(np.float32).mean(axis=0)
    std = feats[train_rows].astype(np.float32).std(axis=0) + 1e-3
    model = build_head(cfg.head, feats.shape[1], data.label_vectors.shape[1], mean, std, cfg.hidden, cfg.dropout)
    if cfg.init == "classifier":
        classifier_init(model, data, mean, std)
    return model


class Epochs:
    """DeViSE's steps for the shared loop. Epoch e is one pass over the training rows in an order drawn
    from (seed, e), so a run resumed at an epoch draws the same batches; its history row is the epoch's
    mean training loss and the validation loss at its end (or where a run stopped early)."""

    def __init__(self, data: TrainingSet, cfg: DeviseConfig, model, train_rows: np.ndarray, val_rows: np.ndarray):
        import torch

        self.data, self.cfg, self.model, self.train_rows, self.val_rows = data, cfg, model, train_rows, val_rows
        self.per_epoch = max(1, len(train_rows) // cfg.batch_size)
        self.label_vectors = torch.from_numpy(np.ascontiguousarray(data.label_vectors, dtype=np.float32))
        self.losses: list[float] = []
        self.order: tuple[int, np.ndarray] | None = None

    def batch(self, step: int) -> np.ndarray:
        epoch, b = divmod(step, self.per_epoch)
        if self.order is None or self.order[0] != epoch:
            self.order = epoch, np.random.default_rng([self.cfg.seed, epoch]).permutation(self.train_rows)
        return np.sort(self.order[1][b * self.cfg.batch_size:(b + 1) * self.cfg.batch_size])

    def step_loss(self, rng, step: int):
        import torch

        rows, data = self.batch(step), self.data
        x = torch.from_numpy(data.features[rows].astype(np.float32))
        loss = compute_loss(self.cfg, self.model(x), self.label_vectors, torch.from_numpy(data.target_idx[rows]),
                            torch.from_numpy(data.target_w[rows]))
        self.losses.append(loss.item())
        return loss, {"loss": float(np.mean(self.losses[-20:]))}

    def validate(self, step: int) -> dict:
        entry = {"epoch": -(-step // self.per_epoch), "train_loss": float(np.mean(self.losses)),
                 "val_loss": evaluate_loss(self.model, self.data, self.val_rows, self.cfg, self.label_vectors)}
        self.losses = []
        return entry

    def line(self, entry: dict) -> str:
        return (f"epoch {entry['epoch']}/{self.cfg.epochs}: train loss {entry['train_loss']:.4f}, "
                f"val loss {entry['val_loss']:.4f}")


class EpochBars:
    """A progress bar for each epoch, gone when the epoch ends."""

    def __init__(self, per_epoch: int, epochs: int, progress: bool):
        self.per_epoch, self.epochs, self.progress = per_epoch, epochs, progress
        self.bar = None

    def update(self, step: int, shown: dict[str, float]) -> None:
        if self.bar is None:
            self.bar = tqdm(total=self.per_epoch, desc=f"epoch {(step - 1) // self.per_epoch + 1}/{self.epochs}",
                            unit="batch", leave=False, disable=not self.progress, file=sys.stderr, dynamic_ncols=True)
        self.bar.update(1)
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in shown.items()})
        if step % self.per_epoch == 0:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def finish(model, cfg: DeviseConfig, history: list[dict], meta: dict | None, seconds: float,
           out: str | Path | None) -> TrainResult:
    """The trained head with how it was made, saved to `out` when given."""
    info = dict(meta or {}) | {"kind": cfg.head, "config": dataclasses.asdict(cfg), "history": history,
                               "train_seconds": round(seconds, 1)}
    head = Head(head_arrays(model), info)
    if out:
        head.save(out)
        head.path = Path(out)
    return TrainResult(head, history, seconds)


def classifier_init(model, data: TrainingSet, mean: np.ndarray, std: np.ndarray) -> None:
    """Set the linear head to v = T' (W f + b): each class vector weighted by its logit, written in the
    head's standardised inputs, scaled so that outputs have unit norm on average. A start that already
    knows all 1,000 classes, where a random start knows only the labels in the training photos."""
    import torch

    if data.classifier is None:
        raise NounlensError("--init classifier needs the backbone's classifier weights")
    w_fc, b_fc = data.classifier  # (1280, 1000), (1000,)
    classes = data.label_vectors[: w_fc.shape[1]]  # (1000, d)
    weight = (w_fc * std[:, None]) @ classes  # (1280, d), acting on standardised features
    bias = (mean @ w_fc + b_fc) @ classes
    sample = data.features[:: max(1, len(data.features) // 2048)].astype(np.float32)
    scale = np.linalg.norm(((sample - mean) / std) @ weight + bias, axis=1).mean()
    linear = model[-1]
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy((weight / scale).T.astype(np.float32)))
        linear.bias.copy_(torch.from_numpy((bias / scale).astype(np.float32)))


def evaluate_loss(model, data: TrainingSet, rows: np.ndarray, cfg: DeviseConfig, label_vectors) -> float:
    import torch

    if not len(rows):
        return float("nan")
    model.eval()
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(rows), 2048):
            r = rows[s:s + 2048]
            x = torch.from_numpy(data.features[r].astype(np.float32))
            loss = compute_loss(cfg, model(x), label_vectors, torch.from_numpy(data.target_idx[r]),
                                torch.from_numpy(data.target_w[r]))
            total += float(loss) * len(r)
    model.train()
    return total / len(rows)
