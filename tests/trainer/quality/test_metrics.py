"""trainer.quality.metrics against small cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nounlens.data.wordnet import WordNet
from nounlens.trainer.quality import metrics


class Rows(list):
    """A list that also reads an item as WordNet's ragged columns do (`.row(i)`)."""

    def row(self, i: int):
        return self[i]


class ToyWordNet:
    """A 7-node tree:      0
                         /   \\
                        1     2
                       / \\    |
                      3   4   5
                      |
                      6
    """

    hypernyms = Rows([(), (0,), (0,), (1,), (1,), (2,), (3,)])
    children = Rows([[1, 2], [3, 4], [5], [6], [], [], []])

    within_hops = WordNet.within_hops  # the real hop query, over this toy tree


def test_true_ranks_and_flat_hits():
    scores = np.array([[0.1, 0.9, 0.3],   # truth 1: rank 0
                       [0.8, 0.2, 0.5],   # truth 1: rank 2
                       [0.4, 0.6, 0.5]])  # truth 2: rank 1
    ranks = metrics.true_ranks(scores, np.array([1, 1, 2]))
    assert ranks.tolist() == [0, 2, 1]
    hits = metrics.hit_at_k(ranks, (1, 2, 3))
    assert hits == pytest.approx({1: 1 / 3, 2: 2 / 3, 3: 1.0})


def test_ties_break_by_label_index_in_ranks_and_top_k_alike():
    scores = np.array([[0.5, 0.5, 0.5, 0.1]])
    assert metrics.true_ranks(scores, np.array([0])).tolist() == [0]
    assert metrics.true_ranks(scores, np.array([2])).tolist() == [2]
    assert metrics.top_k(scores, 2).tolist() == [[0, 1]]
    assert metrics.top_k(np.array([[0.2, 0.9, 0.5, 0.7]]), 3).tolist() == [[1, 3, 2]]


def test_lenient_hits_count_any_correct_label():
    top = np.array([[4, 2, 0], [1, 3, 5]])
    correct = [{0}, {7}]
    assert metrics.hit_at_k_sets(top, correct, (1, 2, 3)) == {1: 0.0, 2: 0.0, 3: 0.5}


def test_hierarchical_correct_set_grows_the_radius_until_k_labels():
    wn = ToyWordNet()
    assert metrics.hierarchical_correct_set(wn, 6, 1) == {6}
    assert metrics.hierarchical_correct_set(wn, 6, 2) == {6, 3}  # radius 1
    assert metrics.hierarchical_correct_set(wn, 6, 3) == {6, 3, 1}  # radius 2
    assert metrics.hierarchical_correct_set(wn, 6, 4) == {6, 3, 1, 0, 4}  # radius 3 overshoots to 5
    # restricted to candidate labels, the walk still passes through the others
    assert metrics.hierarchical_correct_set(wn, 6, 2, candidates={4, 5, 6}) == {6, 4}


def test_hierarchical_precision_at_k():
    wn = ToyWordNet()
    # truth 6; the correct set for k=2 is {6, 3}, for k=3 {6, 3, 1}
    top = np.array([[3, 5, 1]])
    hp = metrics.hierarchical_precision_at_k(top, [6], wn, (1, 2, 3))
    assert hp == pytest.approx({1: 0.0, 2: 0.5, 3: 2 / 3})
    # label indices mapped to rows: index i means row label_rows[i]
    hp = metrics.hierarchical_precision_at_k(np.array([[0, 1]]), [6], wn, (2,), label_rows=np.array([6, 3]))
    assert hp == {2: 1.0}


RELEVANT = np.array([1, 0, 1, 0, 0, 1], dtype=bool)
SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])  # ranks: hit, miss, hit, miss, miss, hit


def test_precision_at_k():
    assert metrics.precision_at_k(RELEVANT, SCORES, 1) == 1.0
    assert metrics.precision_at_k(RELEVANT, SCORES, 2) == 0.5
    assert metrics.precision_at_k(RELEVANT, SCORES, 5) == pytest.approx(2 / 5)


def test_average_precision():
    # AP = (1/1 + 2/3 + 3/6) / 3
    assert metrics.average_precision(RELEVANT, SCORES) == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    assert metrics.average_precision(RELEVANT, -SCORES) == pytest.approx((1 / 1 + 2 / 4 + 3 / 6) / 3)


def test_average_precision_without_a_relevant_item_is_zero():
    assert metrics.average_precision(np.zeros(3, dtype=bool), np.arange(3)) == 0.0


def test_retrieval_gives_precisions_and_average_precision():
    r = metrics.retrieval(RELEVANT, SCORES, (1, 2))
    assert r == pytest.approx({"p@1": 1.0, "p@2": 0.5, "ap": (1 + 2 / 3 + 0.5) / 3})
