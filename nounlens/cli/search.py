"""The query verbs: `search` (noun/text -> photos), `similar` (photo -> photos), `label` (photo -> nouns) and
`nouns` (noun -> nouns). Parsing and printing only; the work is Engine's."""

from __future__ import annotations

import argparse

from nounlens.cli.common import Subparsers, add_common, add_ranking, emit, open_engine, result_lines

QUERY_HELP = """\
queries (several can be joined with + and -):
  nouns       nounlens search okapi
              any of WordNet's 82,115 nouns by any of its lemmas ("golden
              retriever", plurals too), in its most common sense
  senses      nounlens search "crane%bird"
              WORD%HINT: the sense whose gloss, lemmas or hypernyms mention
              HINT, else the one clearly nearest to it in meaning
              (crane%machine); a hint that fits no sense is an error that
              lists the senses
  wnids       nounlens search n02012849
              a WordNet 3.0 noun synset by its id
  arithmetic  nounlens search "2*dog + beach - water"
              weighted terms (weights from -1000 to 1000), added and
              subtracted
  free text   nounlens search "a red sports car"
              anything else, read by the text model; text with no word the
              model knows ("xyzzyplugh") is an error
"""


def add_search(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="photos for a noun, free text or arithmetic ('2*dog + beach - water')",
                       epilog=QUERY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="+", help="a noun, WORD%%HINT, a wnid, arithmetic or free text (below)")
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
