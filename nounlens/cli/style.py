"""`nounlens style`: restyle a photo, by one pass of a trained stylizer or by optimising towards a painting.
Parsing and printing only; the work is in search.restyle and Engine.stylize. The optimisation's options
are GatysConfig's fields (`add_options`, so each default is written once); the loss options are shared with
`train style` (cli.train)."""

from __future__ import annotations

import argparse
from pathlib import Path

from nounlens.cli.common import (
    Option,
    Subparsers,
    add_common,
    add_options,
    catalogue_path,
    config_from,
    defaults,
    emit,
    open_engine,
)
from nounlens.data.errors import NounlensError
from nounlens.search.restyle.optimise import GatysConfig
from nounlens.search.restyle.restyler import FAST_SIZE, Restyler, image_format
from nounlens.search.restyle.settings import COLOUR_MODES, INITS, MASKS

LOSS_OPTIONS: dict[str, Option] = {  # shared with `train style`: fields of GatysConfig and StyleTrainConfig alike
    "style_weight": "style loss weight (default %(default)g)",
    "content_weight": "content loss weight (default %(default)g)",
    "tv_weight": "total variation weight (default %(default)g)",
    "softmax": {"default": None, "metavar": "T",  # None: the config's own default
                "help": "Wang et al.'s softmax transformation of the features, temperature T (default: the "
                        "measured best setting)"},
    "seed": None,
    "threads": "CPU threads (default: all)",
}

OPTIMISE_OPTIONS: dict[str, Option] = {  # after the photo, --out, --style and --model; fields of GatysConfig
    "size": {"default": None, "help": f"long side of the result (default {defaults(GatysConfig)['size']} optimising, "
                                      f"{FAST_SIZE} with a stylizer)"},
    "steps": "loss evaluations when optimising (default %(default)s)",
    "init": {"choices": INITS, "help": "start image when optimising (default %(default)s)"},
    "colour": {"flags": ["--colour", "--color"], "choices": COLOUR_MODES,
               "help": "keep the photo's colours: luminance (style on brightness only) or histogram (the "
                       "painting recoloured to the photo's colours; optimising only)"},
    "mask": {"metavar": f"{{{','.join(MASKS)},FILE}}",
             "help": "where to style (white in a greyscale FILE); the rest keeps the photo, or gets --style2"},
    "style2": {"metavar": "PAINTING", "help": "a second painting for the rest of --mask"},
    "optimizer": {"choices": ("lbfgs", "adam")},
    **LOSS_OPTIONS,
}


def add_style(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="restyle a photo: one pass of a trained stylizer, or optimise with a painting")
    p.add_argument("image", help="a photo file, or a catalogue result id")
    p.add_argument("--out", required=True, help="file to write (.png, .jpg or .webp)")
    p.add_argument("--style", default=None, metavar="PAINTING",
                   help="optimise the pixels towards this painting (Gatys et al.; about a minute at 384 px)")
    p.add_argument("--model", default=None, metavar="{irises,FILE.pt}",
                   help="one pass of a trained stylizer (default when no --style: the shipped irises)")
    add_options(p, GatysConfig, OPTIMISE_OPTIONS)
    add_common(p)


def _gatys_config(args: argparse.Namespace, size: int) -> GatysConfig:
    return config_from(GatysConfig, args, size=size, lr=1.0 if args.optimizer == "lbfgs" else 0.02)


def cmd_style(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser()
    fmt = image_format(out)
    if args.style and args.model:
        raise NounlensError("give --style PAINTING (optimise) or --model STYLIZER (one pass), not both")
    if args.style2 and not args.style:
        raise NounlensError("--style2 needs --style (two paintings are optimised, not a stylizer)")
    options = {"mask": args.mask, "progress": not args.json}
    if args.style:
        options.update(cfg=_gatys_config(args, args.size or defaults(GatysConfig)["size"]), style2=args.style2)
    else:
        options.update(model=args.model, size=args.size or FAST_SIZE, colour=args.colour)
    if args.image.isdigit() and (catalogue_path(args) / "manifest.json").exists():
        result = open_engine(args).stylize(int(args.image), style=args.style, **options)
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
    emit(args, d, [f"wrote {out} ({d['width']}x{d['height']}, {result.method}, {result.seconds:.2f} s"
                   + (f"; content loss {losses['content']:.3f}, style loss {losses['style']:.4f}" if losses else "")
                   + ")"])
    return 0
