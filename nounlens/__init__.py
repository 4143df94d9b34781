"""nounlens: search a folder of photos by any WordNet noun."""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["Engine", "__version__"]

if TYPE_CHECKING:
    from nounlens.search.engine import Engine


def __getattr__(name: str):
    # Lazy, so `import nounlens` stays cheap for worker processes that only decode images and for the
    # CLI (importlib.metadata alone costs ~50 ms).
    if name == "Engine":
        from nounlens.search.engine import Engine

        return Engine
    if name == "__version__":
        from importlib.metadata import version

        return version("nounlens")  # pyproject.toml says it once
    raise AttributeError(name)
