"""Benchmarks (`nounlens bench`): every stage timed against its obvious baseline in one run, on this machine.

Stages live in their own modules and each returns (results dict, markdown section):
ingest.py (a: decode + resize + thumbnail), embedding.py (b: `nounlens index` end to end, int8),
scale.py (c-e: search, catalogue, memory at 100k-1M). suite.py runs them and report.py writes
docs/benchmarks.md with the machine, the versions and the load average.
"""
