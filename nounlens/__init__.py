"""nounlens: search a folder of photos by any WordNet noun."""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING

__version__ = version("nounlens")  # pyproject.toml says it once
__all__ = ["Engine", "__version__"]

if TYPE_CHECKING:
    from nounlens.search.engine import Engine


def __getattr__(name: str):
    # Lazy, so `import nounlens` stays cheap for worker processes that only decode images.
    if name == "Engine":
        from nounlens.search.engine import Engine

        return Engine
    raise AttributeError(name)
