"""`nounlens train devise|sr|style`: a DeViSE head, the x4 thumbnail super-resolution net, a one-pass
stylizer. An option named like a field of the model's config dataclass (DeviseConfig, TrainConfig,
StyleTrainConfig) takes its type and default from the field (`add_options`), so each default is written
once, and `*_config` builds the config back from the options (`config_from`); the tables here give the help
and the options that are not fields. Parsing and printing only; the work is in trainer/."""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from nounlens.cli.common import Group, Option, add_options, command_line, config_from, defaults, emit, group_verb
from nounlens.cli.style import LOSS_OPTIONS
from nounlens.data.errors import NounlensError
from nounlens.trainer.devise.train import DeviseConfig
from nounlens.trainer.sr.train import TrainConfig
from nounlens.trainer.sr.train import train as train_sr
from nounlens.trainer.style.train import StyleTrainConfig
from nounlens.trainer.style.train import train as train_style

NO_RESUME: dict[str, Any] = {"action": "store_true", "help": "start afresh even if OUT.ckpt exists"}
SR_WIDTH = defaults(TrainConfig)["width"]  # the net's widths: one option each, named for what they are

DEVISE_OPTIONS: dict[str, Option] = {
    "data": {"nargs": "*", "default": [],
             "help": "labelled photo folders: labels.csv (path,wnid), <wnid>/ class folders or <wnid>_* files"},
    "split": "use this split where a folder has one (e.g. train)",
    "unlabelled": {"nargs": "*", "default": [], "help": "folders of any photos, taught by soft targets only"},
    "out": {"required": True, "help": "the head file to write (.npz)"},
    "encoder": {"choices": ["minilm", "glove"], "default": "minilm", "help": "text space (default minilm)"},
    "head": {"choices": ["linear", "mlp"], "help": "head shape (default %(default)s)"},
    "hidden": "mlp hidden width",
    "loss": {"choices": ["hinge", "cosine"], "help": "hinge rank loss (Frome et al.) or cosine (fast.ai)"},
    "margin": "hinge margin (default %(default)g)",
    "unit": "hinge on unit-length outputs (the paper: raw outputs)",
    "init": {"choices": ["random", "classifier"],
             "help": "classifier: start the linear head at the logit-weighted mix of ImageNet class vectors"},
    "soft": "weight of the backbone-softmax soft target on labelled photos, 0..1 (default %(default)g)",
    "soft_top": "softmax classes in a soft target (default %(default)s)",
    "temperature": "softmax temperature of soft targets",
    "views": {"type": int, "default": 1,
              "help": "views per photo: 1 = centre crop, more adds random crops and flips (cached once)"},
    "epochs": None, "batch_size": None, "lr": None, "weight_decay": None, "dropout": None, "seed": None,
    "no_resume": {**NO_RESUME, "help": "start afresh even if a checkpoint exists"},
}

SR_OPTIONS: dict[str, Option] = {
    "data": "folders of photos (any; no labels needed)",
    "out": "the weights file to write (.pt); OUT.ckpt holds checkpoints",
    "steps": None, "batch_size": None,
    "crop": "low-resolution crop side in pixels (target: 4x)",
    "lr": "peak learning rate (cosine schedule)",
    "feature_weight": "weight of the feature loss (default %(default)g, as the shipped chain's from-scratch run; "
                      "its later fine-tunes raised it to 0.12: docs/sr.md)",
    "pixel_weight": "weight of the L1 pixel loss (default %(default)g)",
    "feature_loss": {"choices": ["mse", "unit"],
                     "help": "feature difference: unit-normalised channels (LPIPS-like, the default) or mean squared "
                             "(Johnson et al.; use --feature-weight 5e-4 with it)"},
    "taps": "loss-network blocks (default {default})",
    "tap_weights": "a weight per tap (default all 1)",
    "init": "start from these weights (fine-tune; same --res-blocks, same or more channels)",
    "channels": {"type": int, "default": SR_WIDTH["nf"],
                 "help": "channels at thumbnail resolution (default %(default)s)"},
    "res_blocks": {"type": int, "default": SR_WIDTH["n_res"],
                   "help": "residual blocks at thumbnail resolution (default %(default)s)"},
    "mid_channels": {"type": int, "default": SR_WIDTH["nf_mid"],
                     "help": "channels at twice the thumbnail size (default %(default)s)"},
    "high_channels": {"type": int, "default": SR_WIDTH["nf_hi"],
                      "help": "channels at four times its size (default %(default)s)"},
    "val_fraction": "photos kept for validation (default %(default)g)",
    "holdout": {"default": defaults(TrainConfig)["holdout_csv"],
                "help": "CSV in a --data folder listing photos never trained on (default %(default)s)"},
    "threads": "CPU threads (default: all)",
    "fp32": {"action": "store_true", "help": "train in float32 instead of bfloat16 autocast"},
    "seed": None,
    "no_resume": NO_RESUME,
}

STYLE_OPTIONS: dict[str, Option] = {
    "style": {"metavar": "PAINTING", "help": "the painting"},
    "data": "folders of photos (any; no labels needed)",
    "out": "the weights file to write (.pt); OUT.ckpt holds checkpoints",
    "steps": "optimiser steps (default %(default)s)",
    "batch_size": "crops per step (default %(default)s)",
    "crop": "training crop side in pixels (default %(default)s)",
    "style_size": "the painting's long side when its style is measured (default %(default)s)",
    "lr": "peak learning rate (cosine schedule; default {default})",
    "widths": {"nargs": 3, "help": "channels at full, 1/2, 1/4 size (default {default})"},
    "n_res": "residual blocks (default %(default)s)",
    "val_fraction": "photos kept for validation (default %(default)g)",
    "bf16": "bfloat16 autocast (default float32: no faster here)",
    "fp32": {"action": "store_true", "help": argparse.SUPPRESS},  # the default now; old commands keep working
    "no_resume": NO_RESUME,
    **LOSS_OPTIONS,
}


def devise_config(args: argparse.Namespace) -> DeviseConfig:
    return config_from(DeviseConfig, args)


def sr_config(args: argparse.Namespace) -> TrainConfig:
    width = {"nf": args.channels, "n_res": args.res_blocks, "nf_mid": args.mid_channels, "nf_hi": args.high_channels}
    return config_from(TrainConfig, args, width=width, holdout_csv=args.holdout, bf16=not args.fp32,
                       resume=not args.no_resume)


def style_train_config(args: argparse.Namespace) -> StyleTrainConfig:
    return config_from(StyleTrainConfig, args, resume=not args.no_resume)


def cmd_train_devise(args: argparse.Namespace) -> int:
    from nounlens.trainer.devise.data import train_head

    cfg = devise_config(args)
    command = command_line()
    result = train_head(args.data, args.out, args.encoder, cfg, args.split, args.unlabelled, args.views,
                        resume=not args.no_resume, progress=not args.json, command=command)
    meta = result.head.meta
    last = result.history[-1] if result.history else {}
    emit(args, meta, [f"wrote {args.out}: {meta['kind']} head into {meta['encoder']} ({meta['dim']}-d), "
                      f"{meta['rows']:,} training views, train/val loss {last.get('train_loss', float('nan')):.4f}/"
                      f"{last.get('val_loss', float('nan')):.4f}, {meta['minutes']:.1f} min"])
    return 0


def _train_and_report(args: argparse.Namespace, train: Callable[..., dict], cfg: Any, validation: str) -> int:
    """Train a net by steps (sr, style) and print its one summary line; `validation` is filled from the last
    validation record, nan for a figure it lacks (a run too short to validate)."""
    trained = train(cfg, progress=not args.json, command=command_line())
    last = defaultdict(lambda: float("nan"), trained["history"][-1] if trained["history"] else {})
    emit(args, trained, [f"wrote {args.out}: {trained['steps']} steps on {trained['train_photos']} photos in "
                         f"{trained['minutes']:.1f} min; validation " + validation.format_map(last)])
    return 0


def cmd_train_sr(args: argparse.Namespace) -> int:
    return _train_and_report(args, train_sr, sr_config(args), "PSNR {val_psnr:.2f} dB (bicubic {bicubic_psnr:.2f})")


def cmd_train_style(args: argparse.Namespace) -> int:
    cfg = style_train_config(args)
    if not Path(args.style).expanduser().is_file():
        raise NounlensError(f"no such painting: {args.style}")
    return _train_and_report(args, train_style, cfg, "content {val_content:.4f}, style {val_style:.4f}")


MODELS: Group = {  # model -> (help, its options, run it); the order is `nounlens train --help`'s
    "devise": ("a DeViSE head: backbone features -> text space, on cached features",
               partial(add_options, config=DeviseConfig, options=DEVISE_OPTIONS), cmd_train_devise),
    "sr": ("x4 thumbnail super-resolution, self-supervised on any photos",
           partial(add_options, config=TrainConfig, options=SR_OPTIONS), cmd_train_sr),
    "style": ("a one-pass stylizer for one painting (Johnson et al.), on any photos",
              partial(add_options, config=StyleTrainConfig, options=STYLE_OPTIONS), cmd_train_style),
}
add_train, cmd_train = group_verb("train a model (devise: the projection into the text space)", "MODEL", MODELS,
                                  "the training record")
