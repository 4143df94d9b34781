"""What every verb shares: the common options, opening the engine, printing (text or --json), the one-line
errors, and option defaults read from the config dataclasses (so each default is written once)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nounlens.data.errors import NounlensError
from nounlens.data.paths import default_catalogue

if TYPE_CHECKING:
    from nounlens.search.engine import Engine, Result

Handler = Callable[[argparse.Namespace], int]
Subparsers = argparse._SubParsersAction  # what add_subparsers returns: verbs are added to it


def add_common(p: argparse.ArgumentParser, k: int | None = None) -> None:
    """--catalogue, -k (where the verb returns a list), --json and --debug."""
    p.add_argument("--catalogue", "-c", default=None,
                   help="catalogue directory (default: $NOUNLENS_CATALOGUE, else a per-user data directory)")
    if k is not None:
        p.add_argument("-k", type=int, default=k, help=f"how many results (default {k})")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def add_debug_json(p: argparse.ArgumentParser, what: str) -> None:
    """--json and --debug for the verbs that print a record rather than results."""
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def add_encoder(p: argparse.ArgumentParser) -> None:
    """The models of a new catalogue (or of a re-embedding): text encoder, its vectors, image head."""
    p.add_argument("--encoder", choices=["minilm", "glove"], default=None,
                   help="text encoder (default: the catalogue's; minilm for a new catalogue)")
    p.add_argument("--vectors", default=None, help="word2vec/GloVe/fastText file for --encoder glove")
    p.add_argument("--head", default=None, metavar="{conse,devise,FILE.npz}",
                   help="image embedding: conse, the shipped DeViSE head, or a trained head file "
                        "(default: the catalogue's; for a new catalogue the measured best)")


def add_ranking(p: argparse.ArgumentParser) -> None:
    """--no-hierarchy and --no-feedback: the two re-ranking steps search, similar and label can skip."""
    p.add_argument("--no-hierarchy", dest="hierarchy", action="store_false",
                   help="rank by the plain text-space cosine, without the ImageNet-class and WordNet-subtree "
                        "scores (docs/quality.md measures both)")
    p.add_argument("--no-feedback", dest="feedback", action="store_false",
                   help="leave out the look-alike photos: no pseudo-relevance feedback in search, no averaging "
                        "with neighbours in labels (docs/quality.md measures both)")


def defaults(config: type) -> dict[str, Any]:
    """Each field's default in a config dataclass (fields without one are left out): the CLI's option
    defaults come from here, so each is written once, beside the field."""
    out = {}
    for f in dataclasses.fields(config):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def shown(value: Any) -> str:
    """A default as the help text writes it: 0.05, 1, 2e-3 (not 0.002), and a list as "16 32 64"."""
    if isinstance(value, list | tuple):
        return " ".join(shown(v) for v in value)
    if isinstance(value, float) and 0 < abs(value) < 0.01:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def catalogue_path(args: argparse.Namespace) -> Path:
    """--catalogue, else the default one (which may not exist yet)."""
    return Path(args.catalogue).expanduser() if args.catalogue else default_catalogue()


def open_engine(args: argparse.Namespace, create: bool = False) -> Engine:
    """The engine with the models and ranking the options ask for (imported here: search pulls in numpy & co)."""
    from nounlens.search.engine import Engine

    return Engine.open(args.catalogue, encoder=getattr(args, "encoder", None),
                       vectors=getattr(args, "vectors", None), create=create, head=getattr(args, "head", None),
                       runtime="onnx-int8" if getattr(args, "int8", False) else "onnx",
                       hierarchy=getattr(args, "hierarchy", True), feedback=getattr(args, "feedback", True))


def command_line() -> str:
    """How this run was invoked, for the training/evaluation records (empty when called from Python)."""
    return "nounlens " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("nounlens") else ""


def emit(args: argparse.Namespace, data: Any, text_lines: list[str]) -> None:
    """Print `data` as JSON with --json, else the text lines."""
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for line in text_lines:
            print(line)


def result_lines(results: list[Result]) -> list[str]:
    """One line per photo result: score, path, nouns."""
    if not results:
        return ["(no photos)"]
    return [f"{r.score:7.3f}  {r.path}  [{', '.join(n['name'] for n in r.nouns)}]" for r in results]


def run(handler: Handler, args: argparse.Namespace) -> int:
    """Run a verb: errors become one line on stderr and exit status 1 (--debug: the traceback), ^C is 130."""
    try:
        return handler(args) or 0
    except KeyboardInterrupt:
        print("nounlens: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        msg = str(e) if isinstance(e, NounlensError) else f"{type(e).__name__}: {e}"
        print(f"nounlens: error: {msg.splitlines()[0] if msg else type(e).__name__}", file=sys.stderr)
        return 1
