"""Command line: argument parsing and printing. All work is done by `Engine` (and `trainer`)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

from nounlens.cli import style as cli_style
from nounlens.data.errors import NounlensError
from nounlens.data.paths import default_catalogue, home


def _common(p: argparse.ArgumentParser, k: int | None = None) -> None:
    p.add_argument("--catalogue", "-c", default=None,
                   help="catalogue directory (default: $NOUNLENS_CATALOGUE, else a per-user data directory)")
    if k is not None:
        p.add_argument("-k", type=int, default=k, help=f"how many results (default {k})")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def _encoder(p: argparse.ArgumentParser) -> None:
    p.add_argument("--encoder", choices=["minilm", "glove"], default=None,
                   help="text encoder (default: the catalogue's; minilm for a new catalogue)")
    p.add_argument("--vectors", default=None, help="word2vec/GloVe/fastText file for --encoder glove")
    p.add_argument("--head", default=None, metavar="{conse,devise,FILE.npz}",
                   help="image embedding: conse, the shipped DeViSE head, or a trained head file "
                        "(default: the catalogue's; for a new catalogue the measured best)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nounlens", description="Search photos by any WordNet noun.")
    parser.add_argument("--version", action="version", version=f"nounlens {version('nounlens')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="index folders of photos (incremental)")
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
    _encoder(p)
    _common(p)

    p = sub.add_parser("search", help="photos for a noun, free text or arithmetic ('2*dog + beach - water')")
    p.add_argument("query", nargs="+")
    _no_hierarchy(p)
    _common(p, 10)

    for name, what in (("similar", "photos like a photo"), ("label", "WordNet nouns for a photo")):
        p = sub.add_parser(name, help=what)
        p.add_argument("image", help="a photo file (in the catalogue or not)")
        _no_hierarchy(p)
        _common(p, 10 if name == "similar" else 5)

    p = sub.add_parser("nouns", help="nouns near a noun in the text space")
    p.add_argument("word", nargs="+")
    _common(p, 10)

    p = sub.add_parser("info", help="versions, PIL build, models, catalogue")
    _common(p)

    p = sub.add_parser("bench", help="time every stage against its baseline; writes docs/benchmarks.md")
    p.add_argument("--quick", action="store_true", help="fewer photos and runs: a few minutes")
    p.add_argument("--data", default=os.environ.get("NOUNLENS_SHARED_DATA", "../shared/data"),
                   help="the shared data folder with imagenet-sample (default ../shared/data)")
    p.add_argument("--out", default="docs/benchmarks.md", help="markdown page to write")
    p.add_argument("--other-python", default=None, metavar="PATH",
                   help="a Python with the other Pillow (pillow-simd vs stock), for resize alone; "
                        "default: the run recorded in the package")
    p.add_argument("--stages", nargs="+", default=None, choices=["ingest", "embedding", "scale"],
                   help="only these stages (default: all)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--debug", action="store_true", help="show tracebacks")

    p = sub.add_parser("ui", help="the Streamlit app on localhost: search, browse, upload, maps")
    p.add_argument("--catalogue", "-c", default=None,
                   help="catalogue directory (default: $NOUNLENS_CATALOGUE, else a per-user data directory)")
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")

    p = sub.add_parser("demo", help="index the built-in demo gallery and run example searches")
    p.add_argument("--gallery", default=None, help="index this folder instead of the built-in photos")
    p.add_argument("--queries", nargs="*", default=None, help="queries to show")
    _encoder(p)
    _common(p, 3)

    p = sub.add_parser("train", help="train a model (devise: the projection into the text space)")
    train = p.add_subparsers(dest="train_command", required=True, metavar="MODEL")
    t = train.add_parser("devise", help="a DeViSE head: backbone features -> text space, on cached features")
    t.add_argument("--data", nargs="*", default=[],
                   help="labelled photo folders: labels.csv (path,wnid), <wnid>/ class folders or <wnid>_* files")
    t.add_argument("--split", default=None, help="use this split where a folder has one (e.g. train)")
    t.add_argument("--unlabelled", nargs="*", default=[], help="folders of any photos, taught by soft targets only")
    t.add_argument("--out", required=True, help="the head file to write (.npz)")
    t.add_argument("--encoder", choices=["minilm", "glove"], default="minilm", help="text space (default minilm)")
    t.add_argument("--head", choices=["linear", "mlp"], default="linear", help="head shape (default linear)")
    t.add_argument("--hidden", type=int, default=1024, help="mlp hidden width")
    t.add_argument("--loss", choices=["hinge", "cosine"], default="hinge",
                   help="hinge rank loss (Frome et al.) or cosine (fast.ai)")
    t.add_argument("--margin", type=float, default=0.1, help="hinge margin (default 0.1)")
    t.add_argument("--unit", action="store_true", help="hinge on unit-length outputs (the paper: raw outputs)")
    t.add_argument("--init", choices=["random", "classifier"], default="random",
                   help="classifier: start the linear head at the logit-weighted mix of ImageNet class vectors")
    t.add_argument("--soft", type=float, default=0.0,
                   help="weight of the backbone-softmax soft target on labelled photos, 0..1 (default 0)")
    t.add_argument("--soft-top", type=int, default=10, help="softmax classes in a soft target (default 10)")
    t.add_argument("--temperature", type=float, default=1.0, help="softmax temperature of soft targets")
    t.add_argument("--views", type=int, default=1, help="views per photo: 1 = centre crop, more adds random "
                                                        "crops and flips (cached once)")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--dropout", type=float, default=0.1)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-resume", action="store_true", help="start afresh even if a checkpoint exists")
    t.add_argument("--json", action="store_true", help="print the training record as JSON")
    t.add_argument("--debug", action="store_true", help="show tracebacks")

    t = train.add_parser("sr", help="x4 thumbnail super-resolution, self-supervised on any photos")
    t.add_argument("--data", nargs="+", required=True, help="folders of photos (any; no labels needed)")
    t.add_argument("--out", required=True, help="the weights file to write (.pt); OUT.ckpt holds checkpoints")
    t.add_argument("--steps", type=int, default=700)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--crop", type=int, default=32, help="low-resolution crop side in pixels (target: 4x)")
    t.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (cosine schedule)")
    t.add_argument("--feature-weight", type=float, default=None,
                   help="weight of the feature loss (default 0.05, as the shipped chain's from-scratch run; "
                        "its later fine-tunes raised it to 0.12: docs/sr.md)")
    t.add_argument("--pixel-weight", type=float, default=1.0, help="weight of the L1 pixel loss (default 1)")
    t.add_argument("--feature-loss", choices=["mse", "unit"], default="unit",
                   help="feature difference: unit-normalised channels (LPIPS-like, the default) or mean squared "
                        "(Johnson et al.; use --feature-weight 5e-4 with it)")
    t.add_argument("--taps", type=int, nargs="+", default=[0, 2, 4], help="loss-network blocks (default 0 2 4)")
    t.add_argument("--tap-weights", type=float, nargs="+", default=None, help="a weight per tap (default all 1)")
    t.add_argument("--init", default=None,
                   help="start from these weights (fine-tune; same --res-blocks, same or more channels)")
    t.add_argument("--channels", type=int, default=48, help="channels at thumbnail resolution (default 48)")
    t.add_argument("--res-blocks", type=int, default=6, help="residual blocks at thumbnail resolution (default 6)")
    t.add_argument("--mid-channels", type=int, default=24, help="channels at twice the thumbnail size (default 24)")
    t.add_argument("--high-channels", type=int, default=12, help="channels at four times its size (default 12)")
    t.add_argument("--val-fraction", type=float, default=0.05, help="photos kept for validation (default 0.05)")
    t.add_argument("--holdout", default="highres_512.csv",
                   help="CSV in a --data folder listing photos never trained on (default highres_512.csv)")
    t.add_argument("--threads", type=int, default=0, help="CPU threads (default: all)")
    t.add_argument("--fp32", action="store_true", help="train in float32 instead of bfloat16 autocast")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-resume", action="store_true", help="start afresh even if OUT.ckpt exists")
    t.add_argument("--json", action="store_true", help="print the training record as JSON")
    t.add_argument("--debug", action="store_true", help="show tracebacks")

    p = sub.add_parser("eval", help="measure quality (quality: zero-shot labelling and retrieval)")
    evals = p.add_subparsers(dest="eval_command", required=True, metavar="WHAT")
    e = evals.add_parser("quality", help="ConSE vs DeViSE on ../shared/data: seen, zero-shot, text -> photo")
    e.add_argument("--data", default="../shared/data", help="the shared data folder (default ../shared/data)")
    e.add_argument("--out", default="docs/quality.md", help="markdown page to write; its picture goes beside it")
    e.add_argument("--encoders", nargs="+", choices=["minilm", "glove"], default=["minilm", "glove"])
    e.add_argument("--per-class", type=int, default=None, help="only the first N photos of each class (smoke runs)")
    e.add_argument("--seen-limit", type=int, default=None, help="only N photos of each seen-class set (smoke runs)")
    e.add_argument("--json", action="store_true", help="print the measurements as JSON")
    e.add_argument("--debug", action="store_true", help="show tracebacks")
    e = evals.add_parser("sr", help="x4 thumbnail super-resolution vs nearest and bicubic on held-out photos")
    e.add_argument("--data", default="../shared/data/imagenet-sample",
                   help="folder with highres_512.csv (default ../shared/data/imagenet-sample)")
    e.add_argument("--weights", default=None, help="weights file (default: the shipped ones)")
    e.add_argument("--out", default="docs/sr.md", help="markdown page to write; its picture goes beside it")
    e.add_argument("--json", action="store_true", help="print the measurements as JSON")
    e.add_argument("--debug", action="store_true", help="show tracebacks")

    p = sub.add_parser("thumb", help="a catalogue thumbnail super-resolved x4 (by id, or any photo's path)")
    p.add_argument("image", help="a result id, or a photo path (made into a thumbnail as the indexer would)")
    p.add_argument("--out", required=True, help="file to write (.png, .jpg, ...)")
    p.add_argument("--weights", default=None, help="weights file (default: the shipped ones)")
    _common(p)
    cli_style.add_parsers(sub, train, evals, _common)  # style; train style; eval style
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args) or 0
    except KeyboardInterrupt:
        print("nounlens: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        msg = str(e) if isinstance(e, NounlensError) else f"{type(e).__name__}: {e}"
        print(f"nounlens: error: {msg.splitlines()[0] if msg else type(e).__name__}", file=sys.stderr)
        return 1


# ---- commands -----------------------------------------------------------------------------------
def _no_hierarchy(p) -> None:
    p.add_argument("--no-hierarchy", dest="hierarchy", action="store_false",
                   help="rank by the plain text-space cosine, without the ImageNet-class and WordNet-subtree "
                        "scores (docs/quality.md measures both)")
    p.add_argument("--no-feedback", dest="feedback", action="store_false",
                   help="leave out the look-alike photos: no pseudo-relevance feedback in search, no averaging "
                        "with neighbours in labels (docs/quality.md measures both)")


def _engine(args, create: bool = False):
    from nounlens.search.engine import Engine

    return Engine.open(args.catalogue, encoder=getattr(args, "encoder", None),
                       vectors=getattr(args, "vectors", None), create=create, head=getattr(args, "head", None),
                       runtime="onnx-int8" if getattr(args, "int8", False) else "onnx",
                       hierarchy=getattr(args, "hierarchy", True), feedback=getattr(args, "feedback", True))


def _command_line() -> str:
    """How this run was invoked, for the training/evaluation records (empty when called from Python)."""
    return "nounlens " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("nounlens") else ""


def _emit(args, data, text_lines) -> None:
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for line in text_lines:
            print(line)


def cmd_index(args) -> int:
    if not args.paths and not args.reembed:
        raise NounlensError("give one or more folders to index, or --reembed")
    engine = _engine(args, create=True)
    if args.reembed:
        n = engine.reembed()
        print(f"re-projected {n} photos with {engine.models.text.name} and {engine.models.embed_name}", file=sys.stderr)
    if not args.paths:
        return 0
    summary = engine.index(args.paths, workers=args.workers, batch_size=args.batch_size, progress=not args.json,
                           memory_budget=args.memory_budget)
    _emit(args, summary.as_dict(), [summary.line()])
    return 0


def _result_lines(results) -> list[str]:
    if not results:
        return ["(no photos)"]
    return [f"{r.score:7.3f}  {r.path}  [{', '.join(n['name'] for n in r.nouns)}]" for r in results]


def cmd_search(args) -> int:
    engine = _engine(args)
    query = " ".join(args.query)
    results = engine.search(query, args.k)
    _emit(args, [r.as_dict() for r in results], _result_lines(results))
    return 0


def cmd_similar(args) -> int:
    results = _engine(args).similar(args.image, args.k)
    _emit(args, [r.as_dict() for r in results], _result_lines(results))
    return 0


def _noun_lines(nouns) -> list[str]:
    return [f"{n['score']:7.3f}  {n['name']} ({n['wnid']}): {n['gloss']}" for n in nouns]


def cmd_label(args) -> int:
    nouns = _engine(args).label(args.image, args.k)
    _emit(args, nouns, _noun_lines(nouns))
    return 0


def cmd_nouns(args) -> int:
    nouns = _engine(args).nouns(" ".join(args.word), args.k)
    _emit(args, nouns, _noun_lines(nouns))
    return 0


def cmd_info(args) -> int:
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
    path = Path(args.catalogue).expanduser() if args.catalogue else default_catalogue()
    if (path / "manifest.json").exists():
        from nounlens.indexer.catalogue import Catalogue
        from nounlens.search.engine import Engine

        cat = Catalogue.open(path, readonly=True)
        info["catalogue"] = Engine.info_of(cat)
    else:
        info["catalogue"] = {"path": str(path), "photos": 0, "note": "not created yet"}
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
    _emit(args, info, lines)
    return 0


def cmd_bench(args) -> int:
    from nounlens.bench.suite import STAGES, run

    result = run(args.data, quick=args.quick, other_python=args.other_python, out=args.out,
                 stages=tuple(args.stages or STAGES))
    lines = [f"wrote {result['markdown']}"] + [f"{what}: {measured} (target {target}) {met}"
                                               for what, target, measured, met in result["targets"]]
    _emit(args, result, lines)
    return 0


def cmd_demo(args) -> int:
    from nounlens.data.demo import DEMO_QUERIES, write_demo_gallery

    gallery = Path(args.gallery) if args.gallery else write_demo_gallery(home() / "demo-gallery")
    if not gallery.is_dir():
        raise NounlensError(f"gallery {gallery} is not a folder")
    engine = _engine(args, create=True)
    print(f"indexing {gallery} into {engine.catalogue.path}", file=sys.stderr)
    summary = engine.index([gallery], progress=not args.json)
    queries = args.queries or list(DEMO_QUERIES)
    out = {"summary": summary.as_dict(), "searches": {}}
    lines = [summary.line(), ""]
    for q in queries:
        results = engine.search(q, args.k)
        out["searches"][q] = [r.as_dict() for r in results]
        lines.append(f"search {q!r}:")
        lines += ["  " + line for line in _result_lines(results)]
    lines += ["", f"try: nounlens search okapi   |   nounlens label {gallery / 'rocket.jpg'}   |   "
              f"nounlens similar {gallery / 'coffee.png'}"]
    if args.catalogue:
        lines[-1] += f"   (with --catalogue {args.catalogue})"
    lines.append("see them in the browser: nounlens ui" + (f" --catalogue {args.catalogue}" if args.catalogue else "")
                 + "   (then open http://localhost:8501)")
    _emit(args, out, lines)
    return 0


def cmd_ui(args) -> int:
    from nounlens.ui.launch import serve

    serve(Path(args.catalogue) if args.catalogue else default_catalogue(), args.port, args.host)
    return 0


def cmd_train_devise(args) -> int:
    from nounlens.trainer.devise.data import train_head
    from nounlens.trainer.devise.train import DeviseConfig

    cfg = DeviseConfig(head=args.head, hidden=args.hidden, dropout=args.dropout, loss=args.loss, margin=args.margin,
                       soft=args.soft, soft_top=args.soft_top, temperature=args.temperature, epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, seed=args.seed,
                       unit=args.unit, init=args.init)
    command = _command_line()
    result = train_head(args.data, args.out, args.encoder, cfg, args.split, args.unlabelled, args.views,
                        resume=not args.no_resume, progress=not args.json, command=command)
    meta = result.head.meta
    last = result.history[-1] if result.history else {}
    _emit(args, meta, [f"wrote {args.out}: {meta['kind']} head into {meta['encoder']} ({meta['dim']}-d), "
                       f"{meta['rows']:,} training views, train/val loss {last.get('train_loss', float('nan')):.4f}/"
                       f"{last.get('val_loss', float('nan')):.4f}, {meta['minutes']:.1f} min"])
    return 0


def cmd_train(args) -> int:
    return TRAIN_COMMANDS[args.train_command](args)


def cmd_eval_quality(args) -> int:
    from nounlens.trainer.quality.report import write_quality

    command = _command_line()
    result = write_quality(args.data, args.out, tuple(args.encoders), args.per_class, progress=not args.json,
                           command=command, seen_limit=args.seen_limit)
    lines = [f"wrote {result['markdown']} and {result['picture']}"]
    for encoder, heads in result["runs"].items():
        for head, run in heads.items():
            t = run["text_to_photo"]
            lines.append(f"{encoder:7s} {head:14s} text->photo mAP strict {t['strict']['map']:.3f}  hypernym "
                         f"{t['hypernym']['map']:.3f}  imagenet {t['imagenet']['map']:.3f}; zero-shot hit@5 "
                         f"{100 * run['zero_shot']['hit'][5]:.1f}%, median rank {run['zero_shot']['median_rank']:,.0f}")
    _emit(args, result, lines)
    return 0


def cmd_eval(args) -> int:
    return EVAL_COMMANDS[args.eval_command](args)


def cmd_train_sr(args) -> int:
    from nounlens.trainer.sr.train import TrainConfig, train

    cfg = TrainConfig(data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, crop=args.crop,
                      lr=args.lr, pixel_weight=args.pixel_weight, feature_loss=args.feature_loss,
                      taps=tuple(args.taps), tap_weights=tuple(args.tap_weights) if args.tap_weights else None,
                      init=args.init, val_fraction=args.val_fraction,
                      width={"nf": args.channels, "n_res": args.res_blocks, "nf_mid": args.mid_channels,
                             "nf_hi": args.high_channels},
                      holdout_csv=args.holdout, seed=args.seed,
                      threads=args.threads, bf16=not args.fp32, resume=not args.no_resume,
                      **({} if args.feature_weight is None else {"feature_weight": args.feature_weight}))
    command = _command_line()
    trained = train(cfg, progress=not args.json, command=command)
    last = trained["history"][-1] if trained["history"] else {}
    _emit(args, trained, [f"wrote {args.out}: {trained['steps']} steps on {trained['train_photos']} photos in "
                          f"{trained['minutes']:.1f} min; validation PSNR {last.get('val_psnr', float('nan')):.2f} dB "
                          f"(bicubic {last.get('bicubic_psnr', float('nan')):.2f})"])
    return 0


def cmd_eval_sr(args) -> int:
    from nounlens.trainer.sr.report import write_sr_report

    report = write_sr_report(args.data, args.out, args.weights, progress=not args.json)
    t = report["table"]
    lines = [f"wrote {args.out} and {report['picture']}  ({report['photos']} held-out photos)"]
    lines += [f"{name:17s} PSNR-Y {m['psnr_y']:6.2f} dB  SSIM-Y {m['ssim_y']:.4f}  perceptual {m['perceptual']:.4f}"
              for name, m in t.items()]
    lines.append(f"SR vs the better bicubic on each: {report['psnr_gain_db']:+.2f} dB, "
                 f"SSIM {report['ssim_gain']:+.4f}, "
                 f"perceptual {-100 * report['perceptual_drop']:+.1f}%; 20-thumbnail page "
                 f"{report['page']['median_s']:.2f} s on {report['page']['threads']} threads")
    _emit(args, report, lines)
    return 0


def cmd_thumb(args) -> int:
    from nounlens.search.upscale import Upscaler, thumbnail_of_path

    out = Path(args.out).expanduser()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}.get(out.suffix.lower())
    if fmt is None:
        raise NounlensError(f"--out {args.out}: give a .png, .jpg or .webp file")
    cat = Path(args.catalogue).expanduser() if args.catalogue else default_catalogue()
    if args.image.isdigit() or (cat / "manifest.json").exists():
        data = _engine(args).sr_thumbnail(int(args.image) if args.image.isdigit() else args.image, fmt,
                                          weights=args.weights)
    else:  # a photo path and no catalogue: no need to open one
        if not Path(args.image).expanduser().exists():
            raise NounlensError(f"no such photo: {args.image}")
        data = Upscaler(args.weights).jpeg(thumbnail_of_path(Path(args.image).expanduser()), fmt)
    out.write_bytes(data)
    _emit(args, {"out": str(out), "bytes": len(data)}, [f"wrote {out}"])
    return 0


TRAIN_COMMANDS = {"devise": cmd_train_devise, "sr": cmd_train_sr, "style": cli_style.cmd_train_style}
EVAL_COMMANDS = {"quality": cmd_eval_quality, "sr": cmd_eval_sr, "style": cli_style.cmd_eval_style}

COMMANDS = {"index": cmd_index, "bench": cmd_bench, "search": cmd_search, "similar": cmd_similar, "label": cmd_label,
            "nouns": cmd_nouns, "info": cmd_info, "demo": cmd_demo, "ui": cmd_ui,
            "train": cmd_train, "eval": cmd_eval, "thumb": cmd_thumb, "style": cli_style.cmd_style}

if __name__ == "__main__":
    sys.exit(main())
