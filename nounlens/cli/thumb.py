"""`nounlens thumb`: a catalogue thumbnail super-resolved x4, by result id or any photo's path."""

from __future__ import annotations

import argparse
from pathlib import Path

from nounlens.cli.common import Subparsers, add_common, catalogue_path, emit, open_engine
from nounlens.data.errors import NounlensError


def add_thumb(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="a catalogue thumbnail super-resolved x4 (by id, or any photo's path)")
    p.add_argument("image", help="a result id, or a photo path (made into a thumbnail as the indexer would)")
    p.add_argument("--out", required=True, help="file to write (.png, .jpg, ...)")
    p.add_argument("--weights", default=None, help="weights file (default: the shipped ones)")
    add_common(p)


def cmd_thumb(args: argparse.Namespace) -> int:
    from nounlens.search.upscale import Upscaler, thumbnail_of_path

    out = Path(args.out).expanduser()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}.get(out.suffix.lower())
    if fmt is None:
        raise NounlensError(f"--out {args.out}: give a .png, .jpg or .webp file")
    if args.image.isdigit() or (catalogue_path(args) / "manifest.json").exists():
        data = open_engine(args).sr_thumbnail(int(args.image) if args.image.isdigit() else args.image, fmt,
                                              weights=args.weights)
    else:  # a photo path and no catalogue: no need to open one
        if not Path(args.image).expanduser().exists():
            raise NounlensError(f"no such photo: {args.image}")
        data = Upscaler(args.weights).jpeg(thumbnail_of_path(Path(args.image).expanduser()), fmt)
    out.write_bytes(data)
    emit(args, {"out": str(out), "bytes": len(data)}, [f"wrote {out}"])
    return 0
