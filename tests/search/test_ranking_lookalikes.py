"""Look-alike photos (search/ranking.py): the formulas on hand-computed cases, and what they do to
search on real photos."""

import numpy as np
import pytest

from nounlens.search.ranking import centred, expand_query, look_alikes, smooth


def test_centred_rows_are_unit_and_mean_free():
    x = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]], dtype=np.float32)
    c = centred(x)
    assert np.allclose(np.linalg.norm(c, axis=1), 1.0)
    assert np.allclose(c[0], [-1, -1] / np.sqrt(2))  # (1, 2) - mean (2, 3)


def test_expand_query_lifts_what_looks_like_the_best_results():
    # five candidates: 0 and 1 score best and look alike; 3 looks like them but scores low; 2 and 4 do not
    features = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1], [1, 0.05, 0], [0, 1, 0]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.5, 0.6], dtype=np.float32)
    looks = centred(features)
    out = expand_query(scores, looks, top=2, weight=0.5)
    query = looks[:2].mean(0)
    assert np.allclose(out, (scores + 0.5 * looks @ query / np.linalg.norm(query)) / 1.5, atol=1e-6)
    assert np.argsort(-out)[:3].tolist() == [0, 1, 3]  # the look-alike overtakes 2 and 4
    assert np.array_equal(expand_query(scores, looks, top=2, weight=0), scores)


def test_look_alikes_weigh_from_the_floor_up():
    pool = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.95, 0.05, 0]], dtype=np.float32)
    own = np.array([1, 0, 0], dtype=np.float32)
    pos, w = look_alikes(own, pool, k=3, floor=0.3)
    mean = pool.mean(0)
    sims = centred(pool, mean) @ centred(own[None], mean)[0]
    assert pos.tolist() == np.argsort(-sims)[:3].tolist() and pos[0] == 0
    assert w[0] == pytest.approx(1.0) and np.allclose(w, np.clip((sims[pos] - 0.3) / 0.7, 0, None))
    assert look_alikes(own, pool[:0])[0].size == 0


def test_smooth_hand_computed():
    own = np.array([1.0, 0.0, -np.inf], dtype=np.float32)
    theirs = np.array([[0.0, 1.0, -np.inf], [0.5, 0.5, -np.inf]], dtype=np.float32)
    out = smooth(own, theirs, np.array([0.5, 0.0]), strength=2.0)  # one neighbour at weight 1
    assert np.allclose(out[:2], [0.5, 0.5]) and out[2] == -np.inf
    assert np.array_equal(smooth(own, theirs[:0], np.zeros(0)), own)  # a photo with no look-alike
    assert np.array_equal(smooth(own, theirs, np.zeros(2)), own)
