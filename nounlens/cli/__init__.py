"""The command line: one table of verbs, each parsed and run by the module of its group (search, index,
train, evals, style, thumb, ui, bench); what they share is in common.py. All work is done by `Engine`
and the packages below (trainer, bench, ui). A new verb is a parser function and a handler in one of
those modules, named add_<verb> and cmd_<verb>, and a row in VERBS."""

from __future__ import annotations

import argparse
from importlib.metadata import version

from nounlens.cli import bench, evals, index, search, style, thumb, train, ui
from nounlens.cli.common import run

VERBS = {  # verb -> the module with its add_<verb>(sub, verb) and cmd_<verb>(args); the order is `nounlens --help`'s
    "index": index, "search": search, "similar": search, "label": search, "nouns": search, "info": index,
    "bench": bench, "ui": ui, "demo": index, "train": train, "eval": evals, "thumb": thumb, "style": style,
}


def build_parser() -> argparse.ArgumentParser:
    """The whole parser, each verb's declared by its module (no verb's work is imported)."""
    parser = argparse.ArgumentParser(prog="nounlens", description="Search photos by any WordNet noun.")
    parser.add_argument("--version", action="version", version=f"nounlens {version('nounlens')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb, module in VERBS.items():
        getattr(module, f"add_{verb}")(sub, verb)
    return parser


def main(argv: list[str] | None = None) -> int:
    """`nounlens ...`: parse, run the verb, and return the exit status (errors are one line on stderr)."""
    args = build_parser().parse_args(argv)
    return run(getattr(VERBS[args.command], f"cmd_{args.command}"), args)


__all__ = ["VERBS", "build_parser", "main"]
