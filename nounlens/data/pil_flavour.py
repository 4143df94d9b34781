"""Which PIL this process imported: pillow-simd or stock Pillow, detected once for `nounlens info`
(data.images.pil_info), the benchmark page (bench.report.loaded_pil) and the plain-Pillow baseline.

What counts is the PIL actually loaded, not what is installed: the distribution whose files hold the
imported PIL/__init__.py. Standard library and PIL only, no nounlens import, on purpose:
nounlens/bench/plain_pillow.py loads this file by path (runpy) under a second Python that has nothing
but PIL (`nounlens bench --other-python`).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import sys
from pathlib import Path


def flavour() -> str:
    """Which distribution the imported PIL belongs to: 'pillow-simd', 'Pillow' or 'unknown'."""
    import PIL

    here = Path(PIL.__file__).resolve()
    for dist in md.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name in ("pillow", "pillow-simd"):
            try:
                if Path(dist.locate_file("PIL/__init__.py")).resolve() == here:
                    return "pillow-simd" if name == "pillow-simd" else "Pillow"
            except (OSError, TypeError):
                continue
    return "unknown"


def built_with_avx2(pil: str) -> bool | None:
    """Whether scripts/setup.sh built pillow-simd with -mavx2 (its stamp in the environment); None when
    the PIL is not pillow-simd or the stamp is missing."""
    stamp = Path(sys.prefix) / ".pillow-simd"
    if pil != "pillow-simd" or not stamp.exists():
        return None
    return "-mavx2" in json.loads(stamp.read_text()).get("cc", "")


def describe() -> dict:
    """The loaded PIL: flavour, version, folder and AVX2 build flag (callers keep the fields they show)."""
    import PIL

    pil = flavour()
    return {"pil": pil, "version": PIL.__version__, "path": str(Path(PIL.__file__).resolve().parent),
            "avx2": built_with_avx2(pil)}
