"""`nounlens eval style` remembers each optimisation on disk, keyed by the optimisation's own source."""

from __future__ import annotations


def test_the_cache_key_reads_the_optimisations_source():
    from nounlens.trainer.style.eval import _code

    key = _code()
    assert len(key) == 40 and int(key, 16) >= 0
