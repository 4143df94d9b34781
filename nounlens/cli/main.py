"""The entry point's old path (nounlens.cli.main:main), kept while tests/test_bench.py, test_sr.py,
test_style.py and test_metrics.py still import it from here; delete once they import `nounlens.cli`."""

from nounlens.cli import main

__all__ = ["main"]
