"""`nounlens ui`: start Streamlit on the page in app.py, on localhost unless told otherwise."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nounlens.data.errors import NounlensError
from nounlens.search.photos import MAX_UPLOAD_BYTES
from nounlens.ui.roots import ALLOW_INDEX_ENV, roots_value

APP = Path(__file__).with_name("app.py")


def streamlit_argv(port: int, host: str = "127.0.0.1") -> list[str]:
    """The streamlit command line: no browser opened, no file watcher, no telemetry, no static files
    (the page serves catalogue photos only, through the engine), uploads capped, and no error details in
    the browser (a traceback shows server paths; Streamlit logs it on the server instead)."""
    if not 1 <= port <= 65535:
        raise NounlensError(f"port {port} is not between 1 and 65535")
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--server.enableStaticServing", "false", "--server.maxUploadSize", str(MAX_UPLOAD_BYTES // 2**20),
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
            "--client.showErrorDetails", "none",
            "--global.developmentMode", "false"]


def serve(catalogue: Path, port: int = 8501, host: str = "127.0.0.1", allow_index: Sequence[str | Path] = ()) -> None:
    """Replace this process with Streamlit's server (so a signal to `nounlens ui` reaches it directly).
    The page may index folders under `allow_index` only (none: indexing from the page is off)."""
    argv = streamlit_argv(port, host)
    os.environ["NOUNLENS_CATALOGUE"] = str(catalogue.expanduser().absolute())
    os.environ[ALLOW_INDEX_ENV] = roots_value(allow_index)  # set either way: an inherited value allows nothing
    # A query is tiny work: one thread each. With OpenMP's default (all cores) on a busy 2-core machine,
    # FAISS and MiniLM threads spin against each other: 30 ms and 550 ms instead of 0.6 ms and 14 ms.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    allowed = f"; may index under {', '.join(map(str, allow_index))}" if allow_index else ""
    print(f"nounlens ui: catalogue {os.environ['NOUNLENS_CATALOGUE']}{allowed}; open http://{host}:{port} "
          "(Ctrl-C stops it)", file=sys.stderr, flush=True)
    os.execv(argv[0], argv)
