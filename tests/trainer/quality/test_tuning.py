"""Cross-validation of the ranking settings (trainer/quality/tuning.py) on hand-made tables: folds, the
choice, and that no class is ever measured under a setting chosen with it in view."""

import numpy as np

from nounlens.search.ranking import DEFAULT
from nounlens.trainer.quality import tuning


def classes(per_group: int = 9) -> list[dict]:
    return [{"wnid": f"n{g}{i:07d}", "group": group} for g, group in enumerate(("strict", "hypernym", "imagenet"))
            for i in range(per_group)]


def test_every_group_is_dealt_evenly_into_the_folds():
    fold = tuning.fold_of(classes())
    for group in ("strict", "hypernym", "imagenet"):
        counts = np.bincount([fold[c["wnid"]] for c in classes() if c["group"] == group], minlength=3)
        assert counts.tolist() == [3, 3, 3]


def test_folds_do_not_depend_on_the_order_of_the_classes():
    assert tuning.fold_of(classes()) == tuning.fold_of(classes()[::-1])


def test_no_class_is_measured_under_a_setting_chosen_on_its_own_fold():
    # each fold's classes score 1.0 under "their" setting (column f) and 0.5 elsewhere; column 3 is 0.6
    # for everyone. Chosen without fold f, column f cannot win, so held out, no class may score 1.0.
    fold = np.repeat([0, 1, 2], 3)
    table = np.full((9, 4), 0.5)
    table[:, 3] = 0.6
    for f in range(3):
        table[fold == f, f] = 1.0
    groups = np.array(["strict"] * 9)
    held, chosen, every = tuning.select(table, np.zeros(9), groups, fold)
    assert all(chosen[f] != f for f in range(3)) and np.all(held < 1.0)
    assert every in (0, 1, 2)  # on all folds, any fold's own setting (mean 0.67) beats the shared one (0.6)


def test_the_choice_avoids_harm_before_it_seeks_the_best_mean():
    conse = np.array([0.5, 0.5, 0.5])
    table = np.array([[0.9, 0.6], [0.9, 0.6], [0.3, 0.45]])  # column 0 has the best mean but harms class 2
    groups = np.array(["strict"] * 3)
    assert tuning.choose(table, conse, groups, np.ones(3, dtype=bool)) == 1


def test_the_choice_weighs_each_group_equally():
    # three strict classes prefer column 0, the one hypernym column 1; pooled over classes column 0 wins
    # (0.875 vs 0.75), but each group counting once it is column 1 (0.8 vs 0.75)
    table = np.array([[1.0, 0.7], [1.0, 0.7], [1.0, 0.7], [0.5, 0.9]])
    groups = np.array(["strict", "strict", "strict", "hypernym"])
    assert tuning.choose(table, np.zeros(4), groups, np.ones(4, dtype=bool)) == 1


def test_the_grid_holds_the_shipped_defaults():
    assert DEFAULT in tuning.settings_grid()


def test_threshold_is_where_results_stop_being_right_half_the_time():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    right = np.array([1, 0, 1, 0, 0, 0], dtype=bool)  # precision at each cut: 1, .5, .67, .5, .4, .33
    assert tuning.threshold_for(scores, right, 0.5) == 0.6
    assert tuning.precision_above(scores, right, 0.6) == (0.5, 4)
    assert tuning.threshold_for(scores, np.zeros(6, dtype=bool), 0.5) > 0.9  # nothing is right: above all
