"""`nounlens train devise|sr|style`: a DeViSE head, the x4 thumbnail super-resolution net, a one-pass
stylizer. Each option's default is its config dataclass field's (DeviseConfig, TrainConfig,
StyleTrainConfig), read by `defaults`, so it is written once; `*_config` turns the options back into one.
Parsing and printing only; the work is in trainer/."""

from __future__ import annotations

import argparse
from pathlib import Path

from nounlens.cli.common import Subparsers, add_debug_json, command_line, defaults, emit, shown
from nounlens.cli.style import add_loss_options
from nounlens.data.errors import NounlensError
from nounlens.trainer.devise.train import DeviseConfig
from nounlens.trainer.sr.train import TrainConfig
from nounlens.trainer.style.train import StyleTrainConfig


def add_train(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="train a model (devise: the projection into the text space)")
    train = p.add_subparsers(dest="train_command", required=True, metavar="MODEL")
    for model, (add, _) in MODELS.items():
        add(train, model)


def cmd_train(args: argparse.Namespace) -> int:
    return MODELS[args.train_command][1](args)


# ---- devise -------------------------------------------------------------------------------------
def _add_devise(train: Subparsers, model: str) -> None:
    d = defaults(DeviseConfig)
    t = train.add_parser(model, help="a DeViSE head: backbone features -> text space, on cached features")
    t.add_argument("--data", nargs="*", default=[],
                   help="labelled photo folders: labels.csv (path,wnid), <wnid>/ class folders or <wnid>_* files")
    t.add_argument("--split", default=None, help="use this split where a folder has one (e.g. train)")
    t.add_argument("--unlabelled", nargs="*", default=[], help="folders of any photos, taught by soft targets only")
    t.add_argument("--out", required=True, help="the head file to write (.npz)")
    t.add_argument("--encoder", choices=["minilm", "glove"], default="minilm", help="text space (default minilm)")
    t.add_argument("--head", choices=["linear", "mlp"], default=d["head"], help="head shape (default %(default)s)")
    t.add_argument("--hidden", type=int, default=d["hidden"], help="mlp hidden width")
    t.add_argument("--loss", choices=["hinge", "cosine"], default=d["loss"],
                   help="hinge rank loss (Frome et al.) or cosine (fast.ai)")
    t.add_argument("--margin", type=float, default=d["margin"], help="hinge margin (default %(default)g)")
    t.add_argument("--unit", action="store_true", help="hinge on unit-length outputs (the paper: raw outputs)")
    t.add_argument("--init", choices=["random", "classifier"], default=d["init"],
                   help="classifier: start the linear head at the logit-weighted mix of ImageNet class vectors")
    t.add_argument("--soft", type=float, default=d["soft"],
                   help="weight of the backbone-softmax soft target on labelled photos, 0..1 (default %(default)g)")
    t.add_argument("--soft-top", type=int, default=d["soft_top"],
                   help="softmax classes in a soft target (default %(default)s)")
    t.add_argument("--temperature", type=float, default=d["temperature"], help="softmax temperature of soft targets")
    t.add_argument("--views", type=int, default=1, help="views per photo: 1 = centre crop, more adds random "
                                                        "crops and flips (cached once)")
    t.add_argument("--epochs", type=int, default=d["epochs"])
    t.add_argument("--batch-size", type=int, default=d["batch_size"])
    t.add_argument("--lr", type=float, default=d["lr"])
    t.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    t.add_argument("--dropout", type=float, default=d["dropout"])
    t.add_argument("--seed", type=int, default=d["seed"])
    t.add_argument("--no-resume", action="store_true", help="start afresh even if a checkpoint exists")
    add_debug_json(t, "the training record")


def devise_config(args: argparse.Namespace) -> DeviseConfig:
    return DeviseConfig(head=args.head, hidden=args.hidden, dropout=args.dropout, loss=args.loss, margin=args.margin,
                        soft=args.soft, soft_top=args.soft_top, temperature=args.temperature, epochs=args.epochs,
                        batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, seed=args.seed,
                        unit=args.unit, init=args.init)


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


# ---- sr -----------------------------------------------------------------------------------------
def _add_sr(train: Subparsers, model: str) -> None:
    d = defaults(TrainConfig)
    width = d["width"]
    t = train.add_parser(model, help="x4 thumbnail super-resolution, self-supervised on any photos")
    t.add_argument("--data", nargs="+", required=True, help="folders of photos (any; no labels needed)")
    t.add_argument("--out", required=True, help="the weights file to write (.pt); OUT.ckpt holds checkpoints")
    t.add_argument("--steps", type=int, default=d["steps"])
    t.add_argument("--batch-size", type=int, default=d["batch_size"])
    t.add_argument("--crop", type=int, default=d["crop"], help="low-resolution crop side in pixels (target: 4x)")
    t.add_argument("--lr", type=float, default=d["lr"], help="peak learning rate (cosine schedule)")
    t.add_argument("--feature-weight", type=float, default=d["feature_weight"],
                   help="weight of the feature loss (default %(default)g, as the shipped chain's from-scratch run; "
                        "its later fine-tunes raised it to 0.12: docs/sr.md)")
    t.add_argument("--pixel-weight", type=float, default=d["pixel_weight"],
                   help="weight of the L1 pixel loss (default %(default)g)")
    t.add_argument("--feature-loss", choices=["mse", "unit"], default=d["feature_loss"],
                   help="feature difference: unit-normalised channels (LPIPS-like, the default) or mean squared "
                        "(Johnson et al.; use --feature-weight 5e-4 with it)")
    t.add_argument("--taps", type=int, nargs="+", default=list(d["taps"]),
                   help=f"loss-network blocks (default {shown(d['taps'])})")
    t.add_argument("--tap-weights", type=float, nargs="+", default=d["tap_weights"],
                   help="a weight per tap (default all 1)")
    t.add_argument("--init", default=d["init"],
                   help="start from these weights (fine-tune; same --res-blocks, same or more channels)")
    t.add_argument("--channels", type=int, default=width["nf"],
                   help="channels at thumbnail resolution (default %(default)s)")
    t.add_argument("--res-blocks", type=int, default=width["n_res"],
                   help="residual blocks at thumbnail resolution (default %(default)s)")
    t.add_argument("--mid-channels", type=int, default=width["nf_mid"],
                   help="channels at twice the thumbnail size (default %(default)s)")
    t.add_argument("--high-channels", type=int, default=width["nf_hi"],
                   help="channels at four times its size (default %(default)s)")
    t.add_argument("--val-fraction", type=float, default=d["val_fraction"],
                   help="photos kept for validation (default %(default)g)")
    t.add_argument("--holdout", default=d["holdout_csv"],
                   help="CSV in a --data folder listing photos never trained on (default %(default)s)")
    t.add_argument("--threads", type=int, default=d["threads"], help="CPU threads (default: all)")
    t.add_argument("--fp32", action="store_true", help="train in float32 instead of bfloat16 autocast")
    t.add_argument("--seed", type=int, default=d["seed"])
    t.add_argument("--no-resume", action="store_true", help="start afresh even if OUT.ckpt exists")
    add_debug_json(t, "the training record")


def sr_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, crop=args.crop,
                       lr=args.lr, feature_weight=args.feature_weight, pixel_weight=args.pixel_weight,
                       feature_loss=args.feature_loss, taps=tuple(args.taps),
                       tap_weights=tuple(args.tap_weights) if args.tap_weights else None,
                       init=args.init, val_fraction=args.val_fraction,
                       width={"nf": args.channels, "n_res": args.res_blocks, "nf_mid": args.mid_channels,
                              "nf_hi": args.high_channels},
                       holdout_csv=args.holdout, seed=args.seed,
                       threads=args.threads, bf16=not args.fp32, resume=not args.no_resume)


def cmd_train_sr(args: argparse.Namespace) -> int:
    from nounlens.trainer.sr.train import train

    cfg = sr_config(args)
    command = command_line()
    trained = train(cfg, progress=not args.json, command=command)
    last = trained["history"][-1] if trained["history"] else {}
    emit(args, trained, [f"wrote {args.out}: {trained['steps']} steps on {trained['train_photos']} photos in "
                         f"{trained['minutes']:.1f} min; validation PSNR {last.get('val_psnr', float('nan')):.2f} dB "
                         f"(bicubic {last.get('bicubic_psnr', float('nan')):.2f})"])
    return 0


# ---- style --------------------------------------------------------------------------------------
def _add_style(train: Subparsers, model: str) -> None:
    d = defaults(StyleTrainConfig)
    t = train.add_parser(model, help="a one-pass stylizer for one painting (Johnson et al.), on any photos")
    t.add_argument("--style", required=True, metavar="PAINTING", help="the painting")
    t.add_argument("--data", nargs="+", required=True, help="folders of photos (any; no labels needed)")
    t.add_argument("--out", required=True, help="the weights file to write (.pt); OUT.ckpt holds checkpoints")
    t.add_argument("--steps", type=int, default=d["steps"], help="optimiser steps (default %(default)s)")
    t.add_argument("--batch-size", type=int, default=d["batch_size"], help="crops per step (default %(default)s)")
    t.add_argument("--crop", type=int, default=d["crop"], help="training crop side in pixels (default %(default)s)")
    t.add_argument("--style-size", type=int, default=d["style_size"],
                   help="the painting's long side when its style is measured (default %(default)s)")
    t.add_argument("--lr", type=float, default=d["lr"],
                   help=f"peak learning rate (cosine schedule; default {shown(d['lr'])})")
    t.add_argument("--widths", type=int, nargs=3, default=d["widths"],
                   help=f"channels at full, 1/2, 1/4 size (default {shown(d['widths'])})")
    t.add_argument("--n-res", type=int, default=d["n_res"], help="residual blocks (default %(default)s)")
    t.add_argument("--val-fraction", type=float, default=d["val_fraction"],
                   help="photos kept for validation (default %(default)g)")
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (default float32: no faster here)")
    t.add_argument("--fp32", action="store_true", help=argparse.SUPPRESS)  # the default now; old commands keep working
    t.add_argument("--no-resume", action="store_true", help="start afresh even if OUT.ckpt exists")
    add_loss_options(t, d)
    add_debug_json(t, "the training record")


def style_train_config(args: argparse.Namespace) -> StyleTrainConfig:
    extra = {} if args.softmax is None else {"softmax": args.softmax}
    return StyleTrainConfig(style=args.style, data=args.data, out=args.out, steps=args.steps,
                            batch_size=args.batch_size, crop=args.crop, style_size=args.style_size, lr=args.lr,
                            widths=args.widths, n_res=args.n_res, val_fraction=args.val_fraction,
                            content_weight=args.content_weight, style_weight=args.style_weight,
                            tv_weight=args.tv_weight, seed=args.seed, threads=args.threads, bf16=args.bf16,
                            resume=not args.no_resume, **extra)


def cmd_train_style(args: argparse.Namespace) -> int:
    from nounlens.trainer.style.train import train

    cfg = style_train_config(args)
    if not Path(args.style).expanduser().is_file():
        raise NounlensError(f"no such painting: {args.style}")
    trained = train(cfg, progress=not args.json, command=command_line())
    last = trained["history"][-1] if trained["history"] else {}
    nan = float("nan")
    emit(args, trained, [f"wrote {args.out}: {trained['steps']} steps on {trained['train_photos']} photos in "
                         f"{trained['minutes']:.1f} min; validation content {last.get('val_content', nan):.4f}, "
                         f"style {last.get('val_style', nan):.4f}"])
    return 0


MODELS = {  # model -> (add its parser, run it); the order is `nounlens train --help`'s
    "devise": (_add_devise, cmd_train_devise),
    "sr": (_add_sr, cmd_train_sr),
    "style": (_add_style, cmd_train_style),
}
