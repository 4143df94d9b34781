"""DeViSE's losses and targets against small cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nounlens.trainer.devise.train import cosine_loss, hinge_rank_loss, sparse_targets

LABELS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
PRED = torch.tensor([[0.2, 0.6]])  # scores against LABELS: 0.2, 0.6, -0.2
ONE = torch.ones(1, 1)


def test_hinge_rank_loss_sums_the_labels_inside_the_margin():
    # target 0: j=1 gives 0.1 - 0.2 + 0.6 = 0.5, j=2 gives max(0, 0.1 - 0.2 - 0.2) = 0
    assert float(hinge_rank_loss(PRED, LABELS, torch.tensor([[0]]), ONE, 0.1)) == pytest.approx(0.5)


def test_hinge_rank_loss_is_zero_when_the_target_leads_by_the_margin():
    # target 1 is ahead of both others by more than the margin
    assert float(hinge_rank_loss(PRED, LABELS, torch.tensor([[1]]), ONE, 0.1)) == pytest.approx(0.0, abs=1e-6)


def test_hinge_rank_loss_weights_several_targets():
    # weighted targets: 0.25 * 0.5 + 0.75 * 0
    soft = hinge_rank_loss(PRED, LABELS, torch.tensor([[0, 1]]), torch.tensor([[0.25, 0.75]]), 0.1)
    assert float(soft) == pytest.approx(0.125)


def test_hinge_rank_loss_averages_a_batch():
    batch = hinge_rank_loss(PRED.repeat(2, 1), LABELS, torch.tensor([[0], [1]]), torch.ones(2, 1), 0.1)
    assert float(batch) == pytest.approx(0.25)


def test_cosine_loss_of_one_target():
    pred = torch.tensor([[1.0, 1.0]])
    one = cosine_loss(pred, LABELS, torch.tensor([[0]]), torch.ones(1, 1))
    assert float(one) == pytest.approx(1 - 1 / math.sqrt(2))


def test_cosine_loss_aims_at_the_weighted_mean_of_the_targets():
    # the soft target 0.5 * e0 + 0.5 * e1 points the same way as pred
    both = cosine_loss(torch.tensor([[1.0, 1.0]]), LABELS, torch.tensor([[0, 1]]), torch.tensor([[0.5, 0.5]]))
    assert float(both) == pytest.approx(0.0, abs=1e-6)


def test_sparse_targets_mix_hard_labels_and_softmax():
    idx, w = sparse_targets(np.array([2, -1]), np.array([[0, 1], [0, 1]]), np.array([[0.6, 0.4], [0.6, 0.4]]), 0.25)
    assert idx.tolist() == [[2, 0, 1], [0, 0, 1]]
    np.testing.assert_allclose(w, [[0.75, 0.15, 0.1], [0.0, 0.6, 0.4]], rtol=1e-6)
