"""`nounlens eval quality|sr|style`: measure, and write the docs/ page with its pictures. Parsing and
printing only; the work is in trainer/ (quality, sr, style reports). Restyling is timed with GatysConfig's
defaults (its --size and --steps are GatysConfig's fields)."""

from __future__ import annotations

import argparse

from nounlens.cli.common import Group, add_options, command_line, emit, group_verb
from nounlens.search.restyle.optimise import GatysConfig

SHARED_STYLES = "../shared/data/styles"


def _quality_options(e: argparse.ArgumentParser) -> None:
    e.add_argument("--data", default="../shared/data", help="the shared data folder (default ../shared/data)")
    e.add_argument("--out", default="docs/quality.md", help="markdown page to write; its picture goes beside it")
    e.add_argument("--encoders", nargs="+", choices=["minilm", "glove"], default=["minilm", "glove"])
    e.add_argument("--per-class", type=int, default=None, help="only the first N photos of each class (smoke runs)")
    e.add_argument("--seen-limit", type=int, default=None, help="only N photos of each seen-class set (smoke runs)")


def cmd_eval_quality(args: argparse.Namespace) -> int:
    from nounlens.trainer.quality.report import write_quality

    command = command_line()
    result = write_quality(args.data, args.out, tuple(args.encoders), args.per_class, progress=not args.json,
                           command=command, seen_limit=args.seen_limit)
    lines = [f"wrote {result['markdown']} and {result['picture']}"]
    for encoder, heads in result["runs"].items():
        for head, run in heads.items():
            t = run["text_to_photo"]
            lines.append(f"{encoder:7s} {head:14s} text->photo mAP strict {t['strict']['map']:.3f}  hypernym "
                         f"{t['hypernym']['map']:.3f}  imagenet {t['imagenet']['map']:.3f}; zero-shot hit@5 "
                         f"{100 * run['zero_shot']['hit'][5]:.1f}%, median rank {run['zero_shot']['median_rank']:,.0f}")
    emit(args, result, lines)
    return 0


def _sr_options(e: argparse.ArgumentParser) -> None:
    e.add_argument("--data", default="../shared/data/imagenet-sample",
                   help="folder with highres_512.csv (default ../shared/data/imagenet-sample)")
    e.add_argument("--weights", default=None, help="weights file (default: the shipped ones)")
    e.add_argument("--out", default="docs/sr.md", help="markdown page to write; its picture goes beside it")


def cmd_eval_sr(args: argparse.Namespace) -> int:
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
    emit(args, report, lines)
    return 0


def _style_options(e: argparse.ArgumentParser) -> None:
    e.add_argument("--data", default=SHARED_STYLES,
                   help=f"paintings, with photos in content/ (default {SHARED_STYLES})")
    e.add_argument("--out", default="docs/style.md", help="markdown page to write; its grid picture goes beside it")
    e.add_argument("--model", default="irises", help="the stylizer to time and show (default: the shipped irises)")
    add_options(e, GatysConfig, {"size": "long side when optimising (default %(default)s)",
                                 "steps": "loss evaluations per restyle (default %(default)s)"})
    e.add_argument("--variants", action="store_true",
                   help="also measure the options (start image, taps, softmax, colour) on a subset")
    e.add_argument("--threads", type=int, default=2, help="CPU threads (default 2, the target's)")


def cmd_eval_style(args: argparse.Namespace) -> int:
    from nounlens.trainer.style.report import write_style_report

    report = write_style_report(args.data, args.out, model=args.model, size=args.size, steps=args.steps,
                                variants=args.variants, threads=args.threads, progress=not args.json,
                                command=command_line())
    lines = [f"wrote {args.out} and {report['picture']}"]
    for method, s in report["summary"].items():
        lines.append(f"{method:18s} content {s['content']:.3f}  style {s['style']:.4f}  colour {s['colour']:5.1f}  "
                     f"median {s['median_s']:.2f} s")
    emit(args, report, lines)
    return 0


MEASURES: Group = {  # what -> (help, its options, run it); the order is `nounlens eval --help`'s
    "quality": ("ConSE vs DeViSE on ../shared/data: seen, zero-shot, text -> photo", _quality_options,
                cmd_eval_quality),
    "sr": ("x4 thumbnail super-resolution vs nearest and bicubic on held-out photos", _sr_options, cmd_eval_sr),
    "style": ("restyle each content photo with each painting: losses, seconds, a grid", _style_options,
              cmd_eval_style),
}
add_eval, cmd_eval = group_verb("measure quality (quality: zero-shot labelling and retrieval)", "WHAT", MEASURES,
                                "the measurements")
