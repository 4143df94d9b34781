"""What every verb shares: the common options, verbs with sub-commands, options declared from the config
dataclasses' fields and the config built back from them (so each default is written once), opening the
engine, printing (text or --json) and the one-line errors."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nounlens.data.errors import NounlensError
from nounlens.data.limits import MAX_K, check_k
from nounlens.data.paths import default_catalogue

if TYPE_CHECKING:
    from nounlens.search.engine import Engine, Result

Handler = Callable[[argparse.Namespace], int]
Subparsers = argparse._SubParsersAction  # what add_subparsers returns: verbs are added to it
Group = dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]]  # name -> (help, its options, run)
Option = str | dict[str, Any] | None  # an option's help, or the argparse keywords that are not the field's
Config = TypeVar("Config")


def group_verb(summary: str, metavar: str, group: Group, record: str
               ) -> tuple[Callable[[Subparsers, str], None], Handler]:
    """A verb with sub-commands (train MODEL, eval WHAT), as the add_<verb> and cmd_<verb> that VERBS calls:
    each sub-command's parser and options, with --json/--debug for the record each prints; the one chosen
    is parsed as `<verb>_command` and run."""

    def add(sub: Subparsers, verb: str) -> None:
        p = sub.add_parser(verb, help=summary)
        inner = p.add_subparsers(dest=f"{verb}_command", required=True, metavar=metavar)
        for name, (what, declare, _) in group.items():
            q = inner.add_parser(name, help=what)
            declare(q)
            add_debug_json(q, record)

    def run(args: argparse.Namespace) -> int:
        return group[getattr(args, f"{args.command}_command")][2](args)

    return add, run


def add_common(p: argparse.ArgumentParser, k: int | None = None) -> None:
    """--catalogue, -k (where the verb returns a list), --json and --debug."""
    p.add_argument("--catalogue", "-c", default=None,
                   help="catalogue directory (default: $NOUNLENS_CATALOGUE, else a per-user data directory)")
    if k is not None:
        p.add_argument("-k", type=k_count, default=k, help=f"how many results, 1 to {MAX_K:,} (default {k})")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def k_count(text: str) -> int:
    """-k's type: a whole number from 1 to MAX_K (data.limits, the bound Engine checks too)."""
    try:
        return check_k(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"k must be a whole number from 1 to {MAX_K:,}, not {text!r}") from None
    except NounlensError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


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


def _unoptional(hint: Any) -> Any:
    """`X | None` -> X: an option left out parses as None either way."""
    inner = [a for a in typing.get_args(hint) if a is not type(None)]
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    return inner[0] if is_union and len(inner) == 1 else hint


def _field_keywords(hint: Any, default: Any) -> dict[str, Any]:
    """The argparse keywords a field implies: a False bool is a switch, a list or tuple takes one value or
    more of its item type, a number its type; no default makes the option required."""
    hint = _unoptional(hint)
    if hint is bool:
        if default is not False:
            raise TypeError("a bool field that is not False by default needs its option spelt out")
        return {"action": "store_true"}
    if default is dataclasses.MISSING:
        keywords: dict[str, Any] = {"required": True}
    else:  # a list or tuple default as a list, as argparse parses it when given
        keywords = {"default": list(default) if isinstance(default, list | tuple) else default}
    if typing.get_origin(hint) in (list, tuple):
        keywords["nargs"] = "+"
        hint = typing.get_args(hint)[0]
    if hint in (int, float):
        keywords["type"] = hint
    return keywords


def add_options(p: argparse.ArgumentParser, config: type, options: dict[str, Option]) -> None:
    """Declare --name (underscores as dashes) for each of `options`, in its order. One named like a field of
    `config` takes its type, nargs and default from the field (so each default is written once); the entry
    gives the help, where "{default}" is the default as `shown` writes it, and any keyword that differs
    (choices, metavar, another default, "flags" for other spellings). Other entries give all their keywords."""
    hints = typing.get_type_hints(config)
    fields, given = {f.name for f in dataclasses.fields(config)}, defaults(config)
    for name, option in options.items():
        keywords = dict(option) if isinstance(option, dict) else {"help": option}
        flags = keywords.pop("flags", ["--" + name.replace("_", "-")])
        if name in fields:
            keywords = {**_field_keywords(hints[name], given.get(name, dataclasses.MISSING)), **keywords}
        if "{default}" in (keywords.get("help") or ""):
            keywords["help"] = keywords["help"].replace("{default}", shown(keywords["default"]))
        p.add_argument(*flags, **keywords)


def config_from(config: type[Config], args: argparse.Namespace, **given: Any) -> Config:
    """The config the parsed options ask for: each field from the option named like it (None: not given,
    so the field's default; a tuple field's list made a tuple), then `given`, for the fields whose options
    are spelt or shaped otherwise (--no-resume, --fp32)."""
    hints = typing.get_type_hints(config)
    parsed = vars(args)
    values = {}
    for f in dataclasses.fields(config):
        value = parsed.get(f.name)
        if value is not None:
            is_tuple = typing.get_origin(_unoptional(hints[f.name])) is tuple
            values[f.name] = tuple(value) if is_tuple else value
    return config(**{**values, **given})


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
    """Print `data` as JSON with --json, else the text lines. A path that is not valid UTF-8 prints as its
    own bytes (as `find` does), so it can be pasted back, instead of failing the whole listing."""
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
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
