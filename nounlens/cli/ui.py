"""`nounlens ui`: the Streamlit app on localhost (nounlens.ui.launch replaces this process with it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from nounlens.cli.common import Subparsers
from nounlens.data.paths import default_catalogue


def add_ui(sub: Subparsers, verb: str) -> None:
    p = sub.add_parser(verb, help="the Streamlit app on localhost: search, browse, upload, maps")
    p.add_argument("--catalogue", "-c", default=None,
                   help="catalogue directory (default: $NOUNLENS_CATALOGUE, else a per-user data directory)")
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--allow-index", nargs="+", default=[], metavar="DIR",
                   help="folders the page's side panel may index (and folders under them); without it, indexing "
                        "from the page is off")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def cmd_ui(args: argparse.Namespace) -> int:
    from nounlens.ui.launch import serve

    serve(Path(args.catalogue) if args.catalogue else default_catalogue(), args.port, args.host, args.allow_index)
    return 0
