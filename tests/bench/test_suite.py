"""`nounlens bench` end to end (bench/suite.py and report.py): the page it writes, and `--stages` keeping
the stages it does not re-measure."""

import contextlib
import io
import json

import pytest

from nounlens.cli import main


def bench(*args: str) -> tuple[int, str]:
    """Exit code and standard output of `nounlens bench ARGS`."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["bench", *args])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def written(shared_like, tmp_path_factory) -> tuple[int, dict, str]:
    """`nounlens bench --quick --stages ingest --json`: exit code, the JSON it printed, the page."""
    out = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    code, stdout = bench("--quick", "--stages", "ingest", "--data", shared_like, "--out", str(out), "--json")
    return code, json.loads(stdout), out.read_text()


def test_bench_command_succeeds(written):
    assert written[0] == 0


def test_quick_bench_times_every_fifth_imagenet_photo_and_every_large_one(written):
    sets = written[1]["results"]["ingest"]["sets"]
    assert sets["imagenet-sample"]["pool"]["n"] == 2 and sets["highres_512"]["pool"]["n"] == 8  # quick: every 5th


def test_bench_page_has_the_machine_load_and_the_stage(written):
    text = written[2]
    assert text.startswith("# Benchmarks") and "load average" in text and "## (a) Ingest" in text


def test_bench_targets_start_with_the_ingest_rows(written):
    assert [row[0] for row in written[1]["targets"]][:2] == ["ingest, imagenet-sample, vs naive Pillow",
                                                             "ingest, highres_512, vs naive Pillow"]


def test_bench_without_the_shared_data_fails(tmp_path):
    assert main(["bench", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "benchmarks.md")]) == 1


@pytest.fixture(scope="module")
def rerun(shared_like, tmp_path_factory) -> dict:
    """`--stages ingest`, its date set back as if measured long ago, then `--stages embedding --json`."""
    out = tmp_path_factory.mktemp("rerun") / "benchmarks.md"
    codes = [bench("--quick", "--stages", "ingest", "--data", shared_like, "--out", str(out))[0]]
    first = json.loads(out.with_suffix(".json").read_text())
    first["results"]["ingest"]["measured"] = "2000-01-01 00:00"  # as if measured long ago
    out.with_suffix(".json").write_text(json.dumps(first))
    code, stdout = bench("--quick", "--stages", "embedding", "--data", shared_like, "--out", str(out), "--json")
    return {"codes": codes + [code], "first": first, "result": json.loads(stdout)["results"], "text": out.read_text()}


def test_both_stage_runs_succeed(rerun):
    assert rerun["codes"][0] == 0
    assert rerun["codes"][1] == 0


def test_rerun_of_one_stage_keeps_the_other_in_stage_order(rerun):
    assert list(rerun["result"]) == ["ingest", "embedding"]


def test_kept_stage_keeps_its_figures(rerun):
    assert rerun["result"]["ingest"]["sets"] == rerun["first"]["results"]["ingest"]["sets"]


def test_kept_stage_keeps_the_date_it_was_measured(rerun):
    result = rerun["result"]
    assert result["ingest"]["measured"] == "2000-01-01 00:00" != result["embedding"]["measured"]


def test_page_shows_both_stages_and_says_once_which_was_kept(rerun):
    text = rerun["text"]
    assert "## (a) Ingest" in text and "## (b) Embedding" in text
    assert text.count("Kept from the run of 2000-01-01 00:00") == 1
