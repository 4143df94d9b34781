"""nounlens: search a folder of photos by any WordNet noun."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Engine", "__version__"]

if TYPE_CHECKING:
    from nounlens.search.engine import Engine


def __getattr__(name: str):
    # Lazy, so `import nounlens` stays cheap for worker processes that only decode images.
    if name == "Engine":
        from nounlens.search.engine import Engine

        return Engine
    raise AttributeError(name)
