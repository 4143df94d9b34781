"""Benchmarks, all in one home: `nounlens bench` times every stage against its obvious baseline in one run,
on this machine, and a few scripts time single features by hand.

`nounlens bench` (suite.py runs the stages; report.py writes docs/benchmarks.md with the machine, the
versions and the load average). Each stage returns (results dict, markdown section):
- ingest.py: (a) decode + resize + thumbnail; plain_pillow.py is its naive baseline and resize alone,
  self-contained so that it also runs under another Python (`--other-python`);
- embedding.py: (b) `nounlens index` end to end, and int8;
- scale.py: (c)-(e) search, catalogue, memory at 100k-1M, in parts: scale_vectors.py (real and synthetic
  vectors), scale_catalogue.py (the big catalogues and their round trip), scale_search.py (c),
  scale_storage.py (d, e: page reads, opening, memory, disk) and scale_report.py (its markdown).

Scripts, run as `python -m nounlens.bench.NAME` (each prints JSON lines or a summary):
- sr_page: one results page of super-resolved thumbnails, with the load average beside each round;
- style_time: the two restyling targets (pixel optimisation, the one-pass stylizer);
- ui_latency: warm query -> rendered results in the Streamlit UI, in a headless Chromium.
"""
