"""The command line: one table of verbs, each parsed and run by the module of its group (search, index,
train, evals, style, thumb, ui, bench); what they share is in common.py. All work is done by `Engine`
and the packages below (trainer, bench, ui). A new verb is a parser function and a handler in one of
those modules, named add_<verb> and cmd_<verb>, and a row in VERBS.

Only the named verb's module is imported and only its parser built (`nounlens search okapi` never
loads the trainer's config modules, which import torch); `nounlens --help` builds them all."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType

from nounlens.cli.common import run

VERBS = {  # verb -> the cli module (by name: imported only when used) with its add_<verb>(sub, verb) and
    # cmd_<verb>(args); the order is `nounlens --help`'s
    "index": "index", "search": "search", "similar": "search", "label": "search", "nouns": "search",
    "info": "index", "check": "check", "bench": "bench", "ui": "ui", "demo": "index", "train": "train", "eval": "evals",
    "thumb": "thumb", "style": "style",
}
TOP_LEVEL = {"-h", "--help", "--version"}
# One query is too little work to share: OpenMP threads (FAISS, numpy's BLAS) that wait for each other on a
# busy machine, and are joined at exit, cost these verbs ~0.15 s a process (the page runs with one too).
ONE_THREAD = {"search", "similar", "label", "nouns"}


def verb_module(verb: str) -> ModuleType:
    return importlib.import_module(f"nounlens.cli.{VERBS[verb]}")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line too, as every other error ("nounlens search: error: ...; see --help");
    sub-commands' parsers are of this class as well."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """--version, read from the installed metadata only when asked (importlib.metadata costs ~50 ms)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import version

        print(f"nounlens {version('nounlens')}")  # on stdout, as argparse's own version action
        parser.exit()


def chosen_verb(argv: list[str]) -> str | None:
    """The verb argv names, unless a top-level option (--help, --version) comes first."""
    for arg in argv:
        if arg in TOP_LEVEL:
            return None
        if not arg.startswith("-"):
            return arg if arg in VERBS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser: with `argv`, only the verb it names (else every verb), each declared by its module."""
    parser = _Parser(prog="nounlens", description="Search photos by any WordNet noun.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verb = chosen_verb(argv) if argv is not None else None
    for name in [verb] if verb else VERBS:
        getattr(verb_module(name), f"add_{name}")(sub, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """`nounlens ...`: parse, run the verb, and return the exit status (errors are one line on stderr)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    if args.command in ONE_THREAD:  # before numpy and FAISS load; a value the user set stays
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    return run(getattr(verb_module(args.command), f"cmd_{args.command}"), args)


__all__ = ["VERBS", "build_parser", "main"]
