"""`nounlens eval quality` end to end on a small slice of ../shared/data: run once, then each figure
and file checked on its own."""

from __future__ import annotations

import contextlib
import io
import json
from types import SimpleNamespace

import pytest
from conftest import SHARED


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> SimpleNamespace:
    if not (SHARED / "zeroshot-caltech101" / "classes.csv").exists():
        pytest.skip(f"needs the shared data ({SHARED})")
    from nounlens.cli import main

    tmp_path = tmp_path_factory.mktemp("quality")
    out = tmp_path / "quality.md"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["eval", "quality", "--data", str(SHARED), "--out", str(out), "--encoders", "glove",
                     "--per-class", "2", "--seen-limit", "40", "--json"])
    result = json.loads(printed.getvalue()) if code == 0 else {}
    return SimpleNamespace(code=code, result=result, out=out, dir=tmp_path)


@pytest.fixture(scope="module")
def conse(run) -> dict:
    return run.result["runs"]["glove"]["conse"]


@pytest.mark.shared
def test_eval_quality_runs_end_to_end_on_a_small_slice(run):
    assert run.code == 0


@pytest.mark.shared
def test_the_slice_has_the_photos_asked_for(run):
    assert run.result["photos"] == {"gallery": 182, "imagenet-sample": 40, "tiny-imagenet val": 40}


@pytest.mark.shared
def test_zero_shot_is_measured_on_the_gallery(conse):
    assert conse["zero_shot"]["photos"] == 90


@pytest.mark.shared
def test_text_to_photo_counts_the_classes_of_each_grading(conse):
    assert {g: conse["text_to_photo"][g]["classes"] for g in ("strict", "hypernym", "imagenet")} == {
        "strict": 45, "hypernym": 15, "imagenet": 31}


@pytest.mark.shared
def test_figures_are_fractions(conse):
    for part in (conse["text_to_photo"]["imagenet"], conse["zero_shot"]["gallery_hit"]):
        assert all(0.0 <= v <= 1.0 for k, v in part.items() if k != "classes")


@pytest.mark.shared
def test_the_backbone_finds_most_seen_imagenet_classes(conse):
    # seen ImageNet classes are easy for the backbone: its own top-5 must find most of them
    assert conse["seen"]["imagenet-sample"]["softmax_hit"]["5"] > 0.7


@pytest.mark.shared
def test_the_default_ranking_is_measured_as_the_engine_ranks(run):
    default = run.result["runs"]["glove"]["default"]  # hierarchy + look-alikes, as the engine ranks and labels
    assert default["zero_shot"]["photos"] == 90 and 0 <= default["text_to_photo"]["strict"]["map"] <= 1


@pytest.mark.shared
def test_every_method_is_measured(run):
    assert set(run.result["runs"]["glove"]) >= {"conse", "conse+classes", "conse+subtree", "conse+feedback"}


@pytest.mark.shared
def test_the_report_is_written(run):
    text = run.out.read_text()
    assert "Smoke run" in text and "| ConSE T=10 · glove |" in text and "| nounlens default" in text


@pytest.mark.shared
def test_the_zero_shot_picture_is_written(run):
    assert (run.dir / "quality-zeroshot.jpg").stat().st_size > 10_000


@pytest.fixture(scope="module")
def honest(run) -> dict:
    return run.result["honest"]["glove"]


@pytest.mark.shared
def test_held_out_and_all_fold_figures_are_reported_for_every_group(honest):
    for key in ("held_out_map", "all_fold_map", "conse_map", "default_map"):
        assert set(honest["cv"][key]) == {"strict", "hypernym", "imagenet"}
        assert all(0.0 <= v <= 1.0 for v in honest["cv"][key].values())


@pytest.mark.shared
def test_every_fold_has_its_own_setting_and_a_third_of_the_classes(honest):
    assert len(honest["cv"]["fold_settings"]) == 3 and sorted(honest["cv"]["fold_classes"]) == [30, 30, 31]


@pytest.mark.shared
def test_the_five_worst_classes_are_listed(honest):
    worst = honest["cv"]["worst"]
    drops = [w["held_out"] - w["conse"] for w in worst]
    assert len(worst) == 5 and drops == sorted(drops)


@pytest.mark.shared
def test_lemmas_and_everyday_words_are_measured(honest):
    beyond = honest["beyond"]
    assert beyond["lemmas_summary"]["queries"] > 91 and beyond["everyday_summary"]["queries"] >= 15
    emu = next(q for q in beyond["lemmas"] if q["query"] == "Dromaius novaehollandiae")
    assert emu["class"] == "emu" and 0.0 <= emu["ap"] <= 1.0


@pytest.mark.shared
def test_the_page_threshold_is_chosen_per_fold(honest):
    t = honest["threshold"]
    assert len(t["folds"]) == 3 and -1.0 < t["threshold"] < 1.5


@pytest.mark.shared
def test_the_picture_queries_right_counts_are_reported(honest):
    assert set(honest["picture"]["default"]) == {"okapi", "pagoda", "menorah", "wheelchair", "sunflower", "euphonium",
                                                 "pigeon", "Windsor_chair"}
    assert all(0 <= n <= 8 for n in honest["picture"]["default"].values())


@pytest.mark.shared
def test_the_report_says_which_figures_are_held_out(run):
    text = run.out.read_text()
    assert "**held-out**" in text and "all-fold" in text and "### The page's threshold" in text
