"""The restyling commands: `nounlens style`, `nounlens train style`, `nounlens eval style`.
Argument parsing and printing only; the work is in search.restyle, Engine.stylize and trainer."""

from __future__ import annotations

import argparse
from pathlib import Path

from nounlens.data.errors import NounlensError
from nounlens.data.paths import default_catalogue

SHARED_STYLES = "../shared/data/styles"


def _debug_json(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def _loss_options(p: argparse.ArgumentParser, style_weight: float, content_weight: float, tv_weight: float) -> None:
    p.add_argument("--style-weight", type=float, default=style_weight,
                   help=f"style loss weight (default {style_weight:g})")
    p.add_argument("--content-weight", type=float, default=content_weight,
                   help=f"content loss weight (default {content_weight:g})")
    p.add_argument("--tv-weight", type=float, default=tv_weight, help=f"total variation weight (default {tv_weight:g})")
    p.add_argument("--softmax", type=float, default=None, metavar="T",
                   help="Wang et al.'s softmax transformation of the features, temperature T (default: the "
                        "measured best setting)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")


def add_parsers(sub, train, evals, common) -> None:
    """`style` on the top level, `style` under `train` and under `eval`."""
    from nounlens.search.restyle import settings as g
    from nounlens.search.restyle.settings import COLOUR_MODES, INITS, MASKS

    p = sub.add_parser("style", help="restyle a photo: one pass of a trained stylizer, or optimise with a painting")
    p.add_argument("image", help="a photo file, or a catalogue result id")
    p.add_argument("--out", required=True, help="file to write (.png, .jpg or .webp)")
    p.add_argument("--style", default=None, metavar="PAINTING",
                   help="optimise the pixels towards this painting (Gatys et al.; about a minute at 384 px)")
    p.add_argument("--model", default=None, metavar="{irises,FILE.pt}",
                   help="one pass of a trained stylizer (default when no --style: the shipped irises)")
    p.add_argument("--size", type=int, default=None,
                   help=f"long side of the result (default {g.SIZE} optimising, 512 with a stylizer)")
    p.add_argument("--steps", type=int, default=g.STEPS, help=f"loss evaluations when optimising (default {g.STEPS})")
    p.add_argument("--init", choices=INITS, default=g.INIT, help=f"start image when optimising (default {g.INIT})")
    p.add_argument("--colour", "--color", choices=COLOUR_MODES, default="none",
                   help="keep the photo's colours: luminance (style on brightness only) or histogram (the "
                        "painting recoloured to the photo's colours; optimising only)")
    p.add_argument("--mask", default=None, metavar=f"{{{','.join(MASKS)},FILE}}",
                   help="where to style (white in a greyscale FILE); the rest keeps the photo, or gets --style2")
    p.add_argument("--style2", default=None, metavar="PAINTING", help="a second painting for the rest of --mask")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    _loss_options(p, g.STYLE_WEIGHT, g.CONTENT_WEIGHT, g.TV_WEIGHT)
    common(p)

    t = train.add_parser("style", help="a one-pass stylizer for one painting (Johnson et al.), on any photos")
    t.add_argument("--style", required=True, metavar="PAINTING", help="the painting")
    t.add_argument("--data", nargs="+", required=True, help="folders of photos (any; no labels needed)")
    t.add_argument("--out", required=True, help="the weights file to write (.pt); OUT.ckpt holds checkpoints")
    t.add_argument("--steps", type=int, default=None, help="optimiser steps (default 600)")
    t.add_argument("--batch-size", type=int, default=None, help="crops per step (default 4)")
    t.add_argument("--crop", type=int, default=None, help="training crop side in pixels (default 160)")
    t.add_argument("--style-size", type=int, default=None,
                   help="the painting's long side when its style is measured (default 512)")
    t.add_argument("--lr", type=float, default=None, help="peak learning rate (cosine schedule; default 2e-3)")
    t.add_argument("--widths", type=int, nargs=3, default=None, help="channels at full, 1/2, 1/4 size (default "
                                                                     "16 32 64)")
    t.add_argument("--n-res", type=int, default=None, help="residual blocks (default 5)")
    t.add_argument("--val-fraction", type=float, default=None, help="photos kept for validation (default 0.02)")
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (default float32: no faster here)")
    t.add_argument("--fp32", action="store_true", help=argparse.SUPPRESS)  # the default now; old commands keep working
    t.add_argument("--no-resume", action="store_true", help="start afresh even if OUT.ckpt exists")
    _loss_options(t, g.STYLIZER_STYLE_WEIGHT, g.CONTENT_WEIGHT, g.TV_WEIGHT)
    _debug_json(t, "the training record")

    e = evals.add_parser("style", help="restyle each content photo with each painting: losses, seconds, a grid")
    e.add_argument("--data", default=SHARED_STYLES,
                   help=f"paintings, with photos in content/ (default {SHARED_STYLES})")
    e.add_argument("--out", default="docs/style.md", help="markdown page to write; its grid picture goes beside it")
    e.add_argument("--model", default="irises", help="the stylizer to time and show (default: the shipped irises)")
    e.add_argument("--size", type=int, default=g.SIZE, help=f"long side when optimising (default {g.SIZE})")
    e.add_argument("--steps", type=int, default=g.STEPS, help=f"loss evaluations per restyle (default {g.STEPS})")
    e.add_argument("--variants", action="store_true",
                   help="also measure the options (start image, taps, softmax, colour) on a subset")
    e.add_argument("--threads", type=int, default=2, help="CPU threads (default 2, the target's)")
    _debug_json(e, "the measurements")


def _gatys_config(args, size: int):
    from nounlens.search.restyle.optimise import GatysConfig

    extra = {} if args.softmax is None else {"softmax": args.softmax}
    return GatysConfig(size=size, steps=args.steps, optimizer=args.optimizer, lr=1.0 if args.optimizer == "lbfgs"
                       else 0.02, init=args.init, colour=args.colour, content_weight=args.content_weight,
                       style_weight=args.style_weight, tv_weight=args.tv_weight, seed=args.seed,
                       threads=args.threads, **extra)


def cmd_style(args) -> int:
    from nounlens.cli.main import _emit, _engine
    from nounlens.search.restyle.restyler import Restyler, image_format

    out = Path(args.out).expanduser()
    fmt = image_format(out)
    if args.style and args.model:
        raise NounlensError("give --style PAINTING (optimise) or --model STYLIZER (one pass), not both")
    if args.style2 and not args.style:
        raise NounlensError("--style2 needs --style (two paintings are optimised, not a stylizer)")
    options = {"mask": args.mask, "progress": not args.json}
    if args.style:
        options.update(cfg=_gatys_config(args, args.size or 384), style2=args.style2)
    else:
        options.update(model=args.model, size=args.size or 512, colour=args.colour)
    cat = Path(args.catalogue).expanduser() if args.catalogue else default_catalogue()
    if args.image.isdigit() and (cat / "manifest.json").exists():
        result = _engine(args).stylize(int(args.image), style=args.style, **options)
    else:  # a photo path: no catalogue needed
        if not Path(args.image).expanduser().is_file():
            raise NounlensError(f"no such photo: {args.image}")
        restyler = Restyler(args.threads or None)
        image = Path(args.image).expanduser()
        if args.style:
            result = restyler.optimise(image, Path(args.style).expanduser(), **options)
        else:
            result = restyler.fast(image, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(result.encode(fmt))
    d = {"out": str(out), **result.as_dict()}
    losses = result.losses
    _emit(args, d, [f"wrote {out} ({d['width']}x{d['height']}, {result.method}, {result.seconds:.2f} s"
                    + (f"; content loss {losses['content']:.3f}, style loss {losses['style']:.4f}" if losses else "")
                    + ")"])
    return 0


def cmd_train_style(args) -> int:
    from nounlens.cli.main import _command_line, _emit
    from nounlens.trainer.style.train import StyleTrainConfig, train

    given = {k: getattr(args, k) for k in ("steps", "batch_size", "crop", "style_size", "lr", "widths", "n_res",
                                           "val_fraction", "softmax") if getattr(args, k) is not None}
    cfg = StyleTrainConfig(style=args.style, data=args.data, out=args.out, content_weight=args.content_weight,
                           style_weight=args.style_weight, tv_weight=args.tv_weight, seed=args.seed,
                           threads=args.threads, bf16=args.bf16, resume=not args.no_resume, **given)
    if not Path(args.style).expanduser().is_file():
        raise NounlensError(f"no such painting: {args.style}")
    trained = train(cfg, progress=not args.json, command=_command_line())
    last = trained["history"][-1] if trained["history"] else {}
    nan = float("nan")
    _emit(args, trained, [f"wrote {args.out}: {trained['steps']} steps on {trained['train_photos']} photos in "
                          f"{trained['minutes']:.1f} min; validation content {last.get('val_content', nan):.4f}, "
                          f"style {last.get('val_style', nan):.4f}"])
    return 0


def cmd_eval_style(args) -> int:
    from nounlens.cli.main import _command_line, _emit
    from nounlens.trainer.style.report import write_style_report

    report = write_style_report(args.data, args.out, model=args.model, size=args.size, steps=args.steps,
                                variants=args.variants, threads=args.threads, progress=not args.json,
                                command=_command_line())
    lines = [f"wrote {args.out} and {report['picture']}"]
    for method, s in report["summary"].items():
        lines.append(f"{method:18s} content {s['content']:.3f}  style {s['style']:.4f}  colour {s['colour']:5.1f}  "
                     f"median {s['median_s']:.2f} s")
    _emit(args, report, lines)
    return 0
