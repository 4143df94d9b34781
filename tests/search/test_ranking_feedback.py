"""Search re-ranking (search/ranking.py): agreement-weighted feedback, the exact / zero-shot split and
`rerank` on hand-made candidates."""

import numpy as np
import pytest

from nounlens.search import ranking
from nounlens.search.ranking import (
    Candidates,
    Ranking,
    agreement_weights,
    centred,
    effective_cosine,
    expand_query,
    rerank,
)

# six candidates in two look-alike groups: 0-2 (a look-alike class that the class evidence prefers, the
# gerenuks of "okapi") and 3-5 (the right class; the query's own cosine prefers one of them, photo 3)
FEATURES = np.array([[1, 0.05, 0], [1, 0, 0.05], [0.95, 0, 0], [0, 1, 0.05], [0.05, 1, 0], [0, 0.95, 0]],
                    dtype=np.float32)
SCORES = np.array([0.90, 0.88, 0.86, 0.85, 0.60, 0.58], dtype=np.float32)
COSINE = np.array([0.50, 0.50, 0.50, 0.70, 0.40, 0.40], dtype=np.float32)


def test_agreement_weights_hand_computed():
    w = agreement_weights(np.array([0.7, 0.6, 0.5]), 0.1)
    assert np.allclose(w, [1.0, np.exp(-1), np.exp(-2)])
    assert np.array_equal(agreement_weights(np.array([0.7, 0.1]), np.inf), [1.0, 1.0])


def test_plain_feedback_amplifies_the_first_results():
    out = expand_query(SCORES, centred(FEATURES), top=4, weight=1.0)
    assert set(np.argsort(-out)[:3]) == {0, 1, 2}


def test_agreement_weighted_feedback_follows_the_query_s_own_evidence():
    out = expand_query(SCORES, centred(FEATURES), top=4, weight=1.0, evidence=COSINE, agreement=0.05)
    assert set(np.argsort(-out)[:3]) == {3, 4, 5}


def test_expand_query_hand_computed_with_weights():
    looks = centred(FEATURES)
    out = expand_query(SCORES, looks, top=4, weight=0.5, evidence=COSINE, agreement=0.1)
    w = np.exp((COSINE[:4] - 0.7) / 0.1)
    query = (w / w.sum()) @ looks[:4]
    want = (SCORES + 0.5 * looks @ query / np.linalg.norm(query)) / 1.5
    assert np.allclose(out, want, atol=1e-5)
    assert np.array_equal(expand_query(SCORES, looks, top=4, weight=0), SCORES)


PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
SIMS = np.array([0.9, 0.4, 0.2], dtype=np.float32)
SETTINGS = Ranking(mix=0.8, tau=0.05, zero_shot_mix=0.3, zero_shot_tau=0.2, feedback_top=4, feedback_weight=1.0,
                   agreement=0.05)


@pytest.mark.parametrize("exact, mix, tau", [(True, 0.8, 0.05), (False, 0.3, 0.2)])
def test_exact_and_zero_shot_queries_mix_the_class_evidence_by_their_own_settings(exact, mix, tau):
    cos = np.array([0.5, 0.4], dtype=np.float32)
    c = Candidates(cos, FEATURES[:2], PROBS, SIMS, exact)
    want = (1 - mix) * cos + mix * effective_cosine(PROBS, SIMS, tau)
    assert np.allclose(rerank(c, SETTINGS, feedback=False), want)


def test_without_class_probabilities_rerank_is_the_cosine_with_feedback():
    c = Candidates(SCORES, FEATURES)
    assert np.array_equal(rerank(c, SETTINGS, feedback=False), SCORES)
    want = expand_query(SCORES, centred(FEATURES), 4, 1.0, SCORES, 0.05)
    assert np.allclose(rerank(c, SETTINGS), want)


def test_an_exact_query_weighs_look_alikes_by_its_score_a_zero_shot_one_by_its_cosine():
    # the class evidence backs photos 0-2 (all of class 0, which the query covers exactly), the cosine photo 3
    probs = np.array([[0.9, 0.05, 0.05]] * 3 + [[0.05, 0.05, 0.9]] * 3, dtype=np.float32)
    sims = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    exact = rerank(Candidates(COSINE, FEATURES, probs, sims, True), SETTINGS)
    zero = rerank(Candidates(COSINE, FEATURES, probs, sims, False), SETTINGS)
    assert set(np.argsort(-exact)[:3]) == {0, 1, 2} and set(np.argsort(-zero)[:3]) == {3, 4, 5}


def test_candidates_without_a_scorer_ignore_the_hierarchy():
    c = Candidates.of(SCORES, FEATURES, np.ones(3), [(None, 1.0)], scorer=None, probs=PROBS)
    assert c.probs is None and not c.exact


def test_the_default_ranking_is_the_shipped_constants():
    d = ranking.DEFAULT
    assert (d.mix, d.tau, d.zero_shot_mix, d.zero_shot_tau, d.feedback_top, d.feedback_weight, d.agreement) == (
        ranking.SEARCH_MIX, ranking.SEARCH_TAU, ranking.ZERO_SHOT_MIX, ranking.ZERO_SHOT_TAU, ranking.FEEDBACK_TOP,
        ranking.FEEDBACK_WEIGHT, ranking.AGREEMENT_TAU)
    assert 0 < ranking.PAGE_THRESHOLD < 1
