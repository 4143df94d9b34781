"""The "query" stage of `nounlens bench` (bench/query_latency.py): its queries, its measurements on a real
engine, and its place among the stages."""

from __future__ import annotations

from nounlens.bench import query_latency, suite
from nounlens.cli import main


def test_queries_mix_nouns_senses_arithmetic_and_free_text():
    qs = query_latency.queries(200)
    assert len(qs) == 200 and len(set(qs)) > 150
    assert any("%" in q for q in qs) and any(" + " in q for q in qs) and any(q.startswith("a photo of") for q in qs)


def test_measure_times_the_stored_and_the_old_path_on_a_real_engine(demo_engine):
    qs = query_latency.queries(8)
    stored = query_latency.measure(demo_engine, qs, qs[:2], stored=True)
    old = query_latency.measure(demo_engine, qs, qs[:2], stored=False)
    assert demo_engine.stored  # the stored path again after measuring the old one
    for r in (stored, old):
        assert r["k20"]["n"] == 8 and r["k1000"]["n"] == 2 and r["k1000_peak_mb"] > 0
        assert r["k20"]["p50_ms"] <= r["k20"]["p99_ms"]


def test_the_section_and_targets_report_both_paths(demo_engine):
    qs = query_latency.queries(4)
    r = {"photos": 18, "catalogue": "C", "loadavg_start": [1.0], "loadavg_end": [1.0],
         "stored": query_latency.measure(demo_engine, qs, qs[:1], stored=True),
         "baseline": query_latency.measure(demo_engine, qs, qs[:1], stored=False)}
    text = query_latency.markdown(r)
    assert text.startswith("## Query end to end") and "baseline" in text and "k=1,000, p50" in text
    assert [row[1] for row in query_latency.targets(r)] == ["≤ 15 ms", "≤ 200 ms", "≤ 200 MB"]


def test_query_is_a_bench_stage_that_needs_the_shared_data(tmp_path):
    assert "query" in suite.STAGES
    assert main(["bench", "--stages", "query", "--data", str(tmp_path), "--out", str(tmp_path / "b.md")]) == 1
