"""The `cli` bench stage (bench/cli_startup.py): whole `nounlens` processes timed for two versions of the
source, each on its own catalogue. Here both versions are this checkout; no timing is asserted."""

from __future__ import annotations

import pytest

from nounlens.bench import cli_startup


@pytest.fixture(scope="module")
def measured():
    return cli_startup.run(baseline=cli_startup.REPO, runs=1)


@pytest.mark.slow
def test_every_command_is_timed_before_and_after(measured):
    results, _ = measured
    assert [r["command"] for r in results["rows"]] == [name for name, _, _ in cli_startup.COMMANDS]
    assert all(r["before_s"] > 0 and r["after_s"] > 0 and r["after_cpu_s"] > 0 for r in results["rows"])
    assert len(results["targets"]) == sum(target is not None for _, _, target in cli_startup.COMMANDS)


@pytest.mark.slow
def test_the_page_section_tables_each_command(measured):
    results, page = measured
    assert page.startswith("## CLI start-up") and str(cli_startup.REPO) in page
    assert all(f"`{r['command']}`" in page for r in results["rows"])


def test_a_source_that_is_not_the_one_imported_is_refused(tmp_path):
    (tmp_path / "home").mkdir()
    env = cli_startup._env(tmp_path / "elsewhere", tmp_path / "home")
    with pytest.raises(cli_startup.NounlensError, match="was not the one imported"):
        cli_startup._check_source(tmp_path / "elsewhere", env)
