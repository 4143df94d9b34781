"""What the page writes into Streamlit's markdown (labels, captions, messages and tooltips are all
markdown): other people's text escaped so it shows as typed, and file names of any bytes made sendable."""

from __future__ import annotations

import re
import string
from pathlib import Path

_SPECIAL = frozenset(string.punctuation)  # CommonMark lets a backslash escape any ASCII punctuation
_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with lone surrogates (what a non-UTF-8 file name decodes to) as U+FFFD: Streamlit cannot
    send them to the browser, and one such name raised UnicodeEncodeError and stopped the results grid."""
    return _SURROGATE.sub("\ufffd", text)


def plain(text: object) -> str:
    """`text` on one line, escaped so markdown shows it as typed: a query, an error message or a file
    name never becomes an image (`![x](http://host/x.png)` made the browser fetch), a link, HTML, LaTeX
    or a heading."""
    flat = " ".join(printable(str(text)).splitlines())
    return "".join("\\" + c if c in _SPECIAL else c for c in flat)


def file_name(path: str) -> str:
    """A photo's file name for a label or caption (`plain`)."""
    return plain(Path(path).name)
