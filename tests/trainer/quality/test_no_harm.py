"""The shipped ranking on the whole Caltech gallery (../shared/data, the evaluation's cached features),
through the very search.ranking.rerank the engine calls: no class harmed against plain ConSE, the
issue's queries, and the shipped settings and page threshold being what cross-validation chooses."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import needs_shared

from nounlens.search.ranking import DEFAULT, PAGE_THRESHOLD

pytestmark = [pytest.mark.shared, pytest.mark.slow, needs_shared]


@pytest.fixture(scope="module")
def setup():
    from conftest import SHARED

    from nounlens.data.wordnet import load_wordnet
    from nounlens.models.backbone import Backbone
    from nounlens.models.text import get_encoder, noun_vectors
    from nounlens.trainer.quality.evaluate import load_eval_data, methods, text_to_photo

    backbone = Backbone()
    gallery = load_eval_data(SHARED, backbone, progress=False).gallery
    ms = methods("minilm", backbone, noun_vectors(get_encoder("minilm")), {"conse": None, "default": "default"},
                 load_wordnet())
    aps = {m: np.array([r["ap"] for r in text_to_photo(gallery, ms[m])["per_class"].values()]) for m in ms}
    return gallery, ms, aps


@pytest.fixture(scope="module")
def cv(setup):
    from nounlens.trainer.quality import tuning

    gallery, ms, aps = setup
    out = tuning.cross_validate(gallery, ms["default"], aps["conse"])
    return out | {"page": tuning.page_threshold(gallery, ms["default"], out)}


def test_no_class_falls_more_than_a_tenth_below_plain_conse(setup):
    gallery, _, aps = setup
    drop = aps["default"] - aps["conse"]
    assert len(drop) == 91
    assert drop.min() >= -0.10, [(c["name"], round(d, 3)) for c, d in zip(gallery.classes, drop, strict=True)
                                 if d < -0.10]


@pytest.mark.parametrize("query, at_least", [("okapi", 2), ("wheelchair", 2), ("euphonium", 8)])
def test_the_issue_s_queries_find_their_photos_in_the_top_8(setup, query, at_least):
    gallery, ms, _ = setup
    row = next(c["row"] for c in gallery.classes if c["name"] == query)
    top = np.argsort(-ms["default"].rank(gallery.features, row), kind="stable")[:8]
    assert (gallery.rows[top] == row).sum() >= at_least


def test_the_shipped_settings_are_the_ones_chosen_on_all_folds(cv):
    assert cv["settings"] == DEFAULT


def test_held_out_figures_reach_the_targets(cv):
    held = cv["held_out_map"]
    assert held["strict"] >= 0.45 and held["hypernym"] >= 0.80 and held["imagenet"] >= 0.92, held


def test_the_page_threshold_is_the_one_chosen_on_all_classes(cv):
    assert cv["page"]["threshold"] == pytest.approx(PAGE_THRESHOLD, abs=0.01)
