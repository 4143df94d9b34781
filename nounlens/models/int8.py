"""The shipped int8 backbone (made by models/quantize.py): where it lies, what it was made from, and the
check that it matches the float weights in use. Apart from quantize.py so that the backbone can find it
without importing the quantiser, which itself needs the backbone."""

from __future__ import annotations

import json
from pathlib import Path

from nounlens.data.errors import NounlensError
from nounlens.data.paths import WEIGHTS


def int8_file(name: str) -> Path:
    return WEIGHTS / f"{name}-int8.onnx"


def int8_meta(name: str) -> dict | None:
    meta = int8_file(name).with_suffix(".json")
    return json.loads(meta.read_text()) if meta.exists() else None


def int8_path(name: str, weights_digest: str) -> Path:
    """The shipped int8 model for these float weights, or a one-line error saying why there is none."""
    path, meta = int8_file(name), int8_meta(name)
    if not path.exists() or meta is None:
        raise NounlensError(f"no int8 model ships for {name}; index without --int8")
    if meta.get("weights_digest") != weights_digest:
        raise NounlensError(f"the shipped int8 {name} was quantised from other weights; rebuild it with "
                            "`python -m nounlens.models.quantize`, or index without --int8")
    return path
