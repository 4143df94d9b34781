"""Hierarchy-aware scores (search/ranking.py): the formula on hand-computed cases, the WordNet subtree
of real nouns, and what it changes in the engine on real photos."""

import numpy as np
import pytest

from nounlens.data.wordnet import imagenet_rows, load_wordnet
from nounlens.models.text import get_encoder, noun_vectors
from nounlens.search.ranking import ClassScorer, effective_cosine


@pytest.fixture(scope="module")
def scorer():
    return ClassScorer(noun_vectors(get_encoder("minilm")), load_wordnet())


def test_effective_cosine_hand_computed():
    sims = np.array([0.9, 0.2, -0.1], dtype=np.float32)
    # a photo certain of one class scores that class's cosine
    assert effective_cosine(np.array([[1.0, 0, 0]]), sims, 0.05)[0] == pytest.approx(0.9, abs=1e-6)
    # two classes at 0.5 each: 1 + tau * log(0.5 e^{(0.9-1)/tau} + 0.5 e^{(0.2-1)/tau})
    tau = 0.1
    want = 1 + tau * np.log(0.5 * np.exp(-0.1 / tau) + 0.5 * np.exp(-0.8 / tau))
    assert effective_cosine(np.array([[0.5, 0.5, 0]]), sims, tau)[0] == pytest.approx(want, rel=1e-5)
    # a soft maximum: never above the best class, and a sharper tau moves it towards that class
    p = np.array([[0.3, 0.7, 0.0]])
    assert effective_cosine(p, sims, 0.5)[0] < effective_cosine(p, sims, 0.05)[0] <= 0.9 + 1e-6


def test_subtree_of_dog_holds_the_dog_breeds_and_okapi_has_none(scorer):
    wn = scorer.wordnet
    dog, okapi = wn.lookup("dog")[0], wn.lookup("okapi")[0]
    under = scorer.under(dog)
    names = {wn.noun(int(r)).name for r in imagenet_rows()[under]}
    assert 100 <= under.sum() <= 130 and {"beagle", "dalmatian", "Great Dane"} <= names
    assert "tabby" not in names and not scorer.under(okapi).any()
    # the subtree term makes every breed an exact match for "dog", and only when it is switched on
    sims = scorer.class_sims(scorer.nouns.matrix[dog], [(dog, 1.0)])
    assert np.all(sims[under] == 1.0) and np.all(sims[~under] < 1.0)
    plain = ClassScorer(scorer.nouns, wn, subtree=False).class_sims(scorer.nouns.matrix[dog], [(dog, 1.0)])
    assert np.all(plain[under] < 1.0)


def test_exact_queries_are_nouns_at_or_above_imagenet_classes(scorer):
    wn = scorer.wordnet
    dog, okapi, beagle = (wn.lookup(w)[0] for w in ("dog", "okapi", "beagle"))
    assert scorer.exact([(dog, 1.0)]) and scorer.exact([(beagle, 1.0)]) and scorer.exact([(okapi, 1.0), (dog, 2.0)])
    assert not scorer.exact([(okapi, 1.0)]) and not scorer.exact([(dog, -1.0)]) and not scorer.exact([(None, 1.0)])
    assert not ClassScorer(scorer.nouns, wn, subtree=False).exact([(dog, 1.0)])


def test_label_scores_rows_subset_matches_the_full_table(scorer):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4, 1000)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    vecs = rng.normal(size=(4, scorer.class_vectors.shape[1])).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    full = scorer.label_scores(probs, vecs)
    rows = np.array([scorer.wordnet.lookup(w)[0] for w in ("dog", "entity", "okapi", "tabby")])
    assert np.allclose(scorer.label_scores(probs, vecs, rows), full[:, rows], atol=1e-5)
    # a photo's labels do not depend on which other photos share its batch
    assert np.allclose(scorer.label_scores(probs[:1], vecs[:1]), full[:1], atol=1e-5)


def test_engine_switch_changes_ranking_and_labels(demo_engine, demo_gallery):
    on = demo_engine.search("cat", k=3)
    off = demo_engine.search("cat", k=3, hierarchy=False)
    assert on[0].path.endswith("chelsea-the-cat.png") and off[0].path.endswith("chelsea-the-cat.png")
    assert [r.score for r in on] != [r.score for r in off]
    labels = demo_engine.label(demo_gallery / "chelsea-the-cat.png", 5)
    assert {n["name"] for n in labels} & {"tabby", "tiger cat", "Egyptian cat", "cat"}
