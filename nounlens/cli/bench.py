"""`nounlens bench`: time every stage against its baseline and write docs/benchmarks.md (nounlens.bench)."""

from __future__ import annotations

import argparse
import os

from nounlens.cli.common import Subparsers, add_debug_json, emit


def add_bench(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="time every stage against its baseline; writes docs/benchmarks.md")
    p.add_argument("--quick", action="store_true", help="fewer photos and runs: a few minutes")
    p.add_argument("--data", default=os.environ.get("NOUNLENS_SHARED_DATA", "../shared/data"),
                   help="the shared data folder with imagenet-sample (default ../shared/data)")
    p.add_argument("--out", default="docs/benchmarks.md", help="markdown page to write")
    p.add_argument("--other-python", default=None, metavar="PATH",
                   help="a Python with the other Pillow (pillow-simd vs stock), for resize alone; "
                        "default: the run recorded in the package")
    p.add_argument("--stages", nargs="+", default=None, choices=["ingest", "embedding", "scale", "cli", "query"],
                   help="only these stages (default: all)")
    add_debug_json(p, "the results")


def cmd_bench(args: argparse.Namespace) -> int:
    from nounlens.bench.suite import STAGES, run

    result = run(args.data, quick=args.quick, other_python=args.other_python, out=args.out,
                 stages=tuple(args.stages or STAGES))
    lines = [f"wrote {result['markdown']}"] + [f"{what}: {measured} (target {target}) {met}"
                                               for what, target, measured, met in result["targets"]]
    emit(args, result, lines)
    return 0
