"""The command line: one table of verbs, each parsed and run by the module of its group (search, index,
train, evals, style, thumb, ui, bench); what they share is in common.py. All work is done by `Engine`
and the packages below (trainer, bench, ui). A new verb is a parser function and a handler in one of
those modules, and a row in VERBS."""

from __future__ import annotations

import argparse
from importlib.metadata import version

from nounlens.cli import bench, evals, index, search, style, thumb, train, ui
from nounlens.cli.common import run

VERBS = {  # verb -> (add its parser, run it); the order is `nounlens --help`'s
    "index": (index.add_index, index.cmd_index),
    "search": (search.add_search, search.cmd_search),
    "similar": (search.add_similar, search.cmd_similar),
    "label": (search.add_label, search.cmd_label),
    "nouns": (search.add_nouns, search.cmd_nouns),
    "info": (index.add_info, index.cmd_info),
    "bench": (bench.add_bench, bench.cmd_bench),
    "ui": (ui.add_ui, ui.cmd_ui),
    "demo": (index.add_demo, index.cmd_demo),
    "train": (train.add_train, train.cmd_train),
    "eval": (evals.add_eval, evals.cmd_eval),
    "thumb": (thumb.add_thumb, thumb.cmd_thumb),
    "style": (style.add_style, style.cmd_style),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nounlens", description="Search photos by any WordNet noun.")
    parser.add_argument("--version", action="version", version=f"nounlens {version('nounlens')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb, (add, _) in VERBS.items():
        add(sub, verb)
    return parser


def main(argv: list[str] | None = None) -> int:
    """`nounlens ...`: parse, run the verb, and return the exit status (errors are one line on stderr)."""
    args = build_parser().parse_args(argv)
    return run(VERBS[args.command][1], args)


__all__ = ["VERBS", "build_parser", "main"]
