"""`nounlens check [--repair] [--json]`: the catalogue verified (indexer.integrity), one line per problem.
Exit status 0 when clean (or everything found was repaired), 1 when a problem remains."""

from __future__ import annotations

import argparse

from nounlens.cli.common import Subparsers, add_common, catalogue_path, emit


def add_check(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="verify the catalogue: records, paths, FAISS, stamp, temp files")
    p.add_argument("--repair", action="store_true",
                   help="rebuild what is derived (FAISS, the manifest), drop records that cannot be whole again "
                        "(the next index reads those photos afresh) and remove stale temp files")
    p.add_argument("--all", dest="sample", action="store_const", const=None, default=200,
                   help="look every photo up by its own vector (default: a sample of 200)")
    p.add_argument("--no-wait", dest="wait", action="store_false",
                   help="if another process is indexing this catalogue, exit at once instead of waiting")
    add_common(p)


def cmd_check(args: argparse.Namespace) -> int:
    from nounlens.indexer.integrity import check_catalogue

    report = check_catalogue(catalogue_path(args), repair=args.repair, sample=args.sample, wait=args.wait)
    emit(args, report.as_dict(), report.lines())
    return 0 if report.clean else 1
