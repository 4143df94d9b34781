"""Stages (c)-(e), scale: the page section and the targets rendered from the results recorded in
docs/benchmarks.json (building a 100k catalogue is `nounlens bench`'s job, not a test's)."""

import json
from pathlib import Path

import pytest

from nounlens.bench import scale, suite

RECORDED = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.json"


@pytest.fixture(scope="module")
def results() -> dict:
    """The recorded scale results, with the per-size keys ints again as the stage returns them."""
    r = json.loads(RECORDED.read_text())["results"].get("scale")
    if not r:
        pytest.skip("docs/benchmarks.json has no scale stage")
    return r | {key: {int(n): v for n, v in r[key].items()} for key in ("build", "search")}


def test_scale_section_has_every_part(results):
    md = suite._markdown("scale", results)  # as `nounlens bench` finds it: nounlens.bench.scale.markdown
    assert md.startswith("## (c) Search, (d) catalogue, (e) memory")
    for part in ("The index each catalogue got", "**(d) Catalogue,", "**(e) Memory and disk,", "works on this machine"):
        assert part in md


def test_scale_targets_are_the_recorded_ones(results):
    assert scale.targets(results) == results["targets"]
