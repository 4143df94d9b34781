"""The catalogue verbs: `index` (photos in), `demo` (index the demo gallery and search it) and `info`
(versions, PIL build, models, catalogue). Parsing and printing only; the work is Engine's."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

from nounlens.cli.common import Subparsers, add_common, add_encoder, catalogue_path, emit, open_engine, result_lines
from nounlens.data.errors import NounlensError
from nounlens.data.paths import home


def add_index(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="index folders of photos (incremental)")
    p.add_argument("paths", nargs="*", help="folders or files")
    p.add_argument("--workers", type=int, default=None, help="decoding processes (default: cores - 1)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--int8", action="store_true",
                   help="the int8 backbone: ~1.5x faster, top-1 within 0.5 points of fp32 (docs/benchmarks.md)")
    p.add_argument("--reembed", action="store_true",
                   help="re-project every stored photo with the chosen models (no photo is read)")
    p.add_argument("--memory-budget", default=None, metavar="SIZE",
                   help="RAM for the FAISS index, e.g. 2GB or 512MB (default: the catalogue's, else 2GB); "
                        "Flat, HNSW or IVF-PQ is chosen to fit and tuned to recall@10 >= 0.95")
    p.add_argument("--no-wait", dest="wait", action="store_false",
                   help="if another process is indexing this catalogue, exit at once instead of waiting")
    add_encoder(p)
    add_common(p)


def add_info(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="versions, PIL build, models, catalogue")
    add_common(p)


def add_demo(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="index the built-in demo gallery and run example searches")
    p.add_argument("--gallery", default=None, help="index this folder instead of the built-in photos")
    p.add_argument("--queries", nargs="*", default=None, help="queries to show")
    add_encoder(p)
    add_common(p, 3)


def cmd_index(args: argparse.Namespace) -> int:
    if not args.paths and not args.reembed:
        raise NounlensError("give one or more folders to index, or --reembed")
    engine = open_engine(args, create=True)
    if args.reembed:
        n = engine.reembed(wait=args.wait)
        print(f"re-projected {n} photos with {engine.models.text.name} and {engine.models.embed_name}", file=sys.stderr)
    if not args.paths:
        return 0
    summary = engine.index(args.paths, workers=args.workers, batch_size=args.batch_size, progress=not args.json,
                           memory_budget=args.memory_budget, wait=args.wait)
    emit(args, summary.as_dict(), [summary.line()])
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import faiss
    import lmdb
    import numpy
    import onnxruntime

    from nounlens.data.images import pil_info

    info = {"nounlens": version("nounlens"), "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "numpy": numpy.__version__, "faiss": faiss.__version__,
            "lmdb": lmdb.__version__, "onnxruntime": onnxruntime.__version__, "image_library": pil_info()}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    path = catalogue_path(args)
    if (path / "manifest.json").exists() or (path / "db" / "data.mdb").exists():  # a lost manifest is rebuilt
        from nounlens.indexer.catalogue import Catalogue
        from nounlens.search.engine import Engine

        cat = Catalogue.open(path, readonly=True)
        info["catalogue"] = Engine.info_of(cat)
    else:
        info["catalogue"] = {"path": str(path), "photos": 0, "note": "not created yet"}
    emit(args, info, _info_lines(info))
    return 0


def _info_lines(info: dict) -> list[str]:
    """`nounlens info` as text: versions, the image library's build, then the catalogue and its models."""
    pil = info["image_library"]
    lines = [f"nounlens {info['nounlens']}  python {info['python']}  {info['machine']}  {info['cpus']} cpus",
             f"image library: {pil['pil']} {pil['version']}"
             + {None: " (stock: no SIMD resize)" if pil["pil"] == "Pillow" else " (build flags unknown)",
                True: " (SIMD, AVX2 build)", False: " (SIMD, SSE4 build)"}[pil["avx2"]],
             f"torch {info['torch']}  onnxruntime {info['onnxruntime']}  faiss {info['faiss']}  "
             f"lmdb {info['lmdb']}  numpy {info['numpy']}"]
    cat = info["catalogue"]
    lines.append(f"catalogue: {cat.get('catalogue', cat.get('path'))}: {cat['photos']} photos"
                 + (f", generation {cat['generation']}, {cat['disk_bytes'] / 1e6:.1f} MB, last indexed "
                    f"{cat['last_indexed']}" if "generation" in cat else f" ({cat.get('note')})"))
    for part, m in (cat.get("models") or {}).items():
        lines.append(f"  {part}: {m.get('name')}" + (f"  sha256 {m['digest'][:12]}" if m.get("digest") else ""))
    if cat.get("faiss"):
        lines.append(f"  faiss: {cat.get('faiss_summary') or cat['faiss']}")
    return lines


def cmd_demo(args: argparse.Namespace) -> int:
    from nounlens.data.demo import DEMO_QUERIES, write_demo_gallery

    gallery = Path(args.gallery) if args.gallery else write_demo_gallery(home() / "demo-gallery")
    if not gallery.is_dir():
        raise NounlensError(f"gallery {gallery} is not a folder")
    engine = open_engine(args, create=True)
    print(f"indexing {gallery} into {engine.catalogue.path}", file=sys.stderr)
    summary = engine.index([gallery], progress=not args.json)
    queries = args.queries or list(DEMO_QUERIES)
    out = {"summary": summary.as_dict(), "searches": {}}
    lines = [summary.line(), ""]
    for q in queries:
        results = engine.search(q, args.k)
        out["searches"][q] = [r.as_dict() for r in results]
        lines.append(f"search {q!r}:")
        lines += ["  " + line for line in result_lines(results)]
    lines += ["", f"try: nounlens search okapi   |   nounlens label {gallery / 'rocket.jpg'}   |   "
              f"nounlens similar {gallery / 'coffee.png'}"]
    if args.catalogue:
        lines[-1] += f"   (with --catalogue {args.catalogue})"
    lines.append("see them in the browser: nounlens ui" + (f" --catalogue {args.catalogue}" if args.catalogue else "")
                 + "   (then open http://localhost:8501)")
    emit(args, out, lines)
    return 0
