"""The query verbs: `search` (noun/text -> photos), `similar` (photo -> photos), `label` (photo -> nouns) and
`nouns` (noun -> nouns). Parsing and printing only; the work is Engine's."""

from __future__ import annotations

import argparse

from nounlens.cli.common import Subparsers, add_common, add_ranking, emit, open_engine, result_lines


def add_search(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="photos for a noun, free text or arithmetic ('2*dog + beach - water')")
    p.add_argument("query", nargs="+")
    add_ranking(p)
    add_common(p, 10)


def _add_photo_verb(sub: Subparsers, verb: str, what: str, k: int) -> None:
    p = sub.add_parser(verb, help=what)
    p.add_argument("image", help="a photo file (in the catalogue or not)")
    add_ranking(p)
    add_common(p, k)


def add_similar(sub: Subparsers, verb: str) -> None:
    _add_photo_verb(sub, verb, "photos like a photo", 10)


def add_label(sub: Subparsers, verb: str) -> None:
    _add_photo_verb(sub, verb, "WordNet nouns for a photo", 5)


def add_nouns(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="nouns near a noun in the text space")
    p.add_argument("word", nargs="+")
    add_common(p, 10)


def cmd_search(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    query = " ".join(args.query)
    results = engine.search(query, args.k)
    emit(args, [r.as_dict() for r in results], result_lines(results))
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    results = open_engine(args).similar(args.image, args.k)
    emit(args, [r.as_dict() for r in results], result_lines(results))
    return 0


def _noun_lines(nouns: list[dict]) -> list[str]:
    return [f"{n['score']:7.3f}  {n['name']} ({n['wnid']}): {n['gloss']}" for n in nouns]


def cmd_label(args: argparse.Namespace) -> int:
    nouns = open_engine(args).label(args.image, args.k)
    emit(args, nouns, _noun_lines(nouns))
    return 0


def cmd_nouns(args: argparse.Namespace) -> int:
    nouns = open_engine(args).nouns(" ".join(args.word), args.k)
    emit(args, nouns, _noun_lines(nouns))
    return 0
