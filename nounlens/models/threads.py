"""torch's thread count for one block of work, put back afterwards: the page, the CLI and the evaluations
each pick their own (one per query in the UI, all cores for a restyle) without leaking it to the rest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """`n` intra-op threads inside the block (every core when 0; unchanged when None)."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n or os.cpu_count() or 1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
