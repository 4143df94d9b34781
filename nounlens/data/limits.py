"""The bounds on what a caller may ask for, checked in one place so the CLI's parser and `Engine` refuse
the same inputs with the same line."""

from __future__ import annotations

import numbers

from nounlens.data.errors import NounlensError

MAX_K = 10_000  # results per query: beyond it a list is no longer read, and a bad k costs memory


def check_k(k: object) -> int:
    """`k` as an int from 1 to MAX_K, else a NounlensError naming the bound (a bool, a float or a
    string is not a count)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise NounlensError(f"k must be a whole number from 1 to {MAX_K:,}, not {k!r}")
    if not 1 <= int(k) <= MAX_K:
        raise NounlensError(f"k must be from 1 to {MAX_K:,}, not {int(k):,}")
    return int(k)
