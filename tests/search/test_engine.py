"""End to end on the photos scikit-image ships, through the Python API (`Engine`)."""

from pathlib import Path

import pytest

from nounlens import Engine
from nounlens.data.errors import NounlensError


def names(results):
    return [Path(r.path).name for r in results]


def test_cat_finds_chelsea_first(demo_engine):
    results = demo_engine.search("cat", k=5)
    assert names(results)[0] == "chelsea-the-cat.png"
    assert results[0].score > results[1].score
    assert any("cat" in n["name"] or n["name"] == "tabby" for n in results[0].nouns)


@pytest.mark.parametrize("query", ["coffee", "espresso"])
def test_coffee_finds_the_coffee_photo(demo_engine, query):
    assert names(demo_engine.search(query, k=3))[0] == "coffee.png"


def test_label_rocket_says_rocket_or_missile(demo_engine, demo_gallery):
    nouns = demo_engine.label(demo_gallery / "rocket.jpg", k=5)
    assert {"wnid", "name", "gloss", "score"} <= set(nouns[0])
    text = " ".join(n["name"] + " " + n["gloss"] for n in nouns).lower()
    assert any(w in text for w in ("rocket", "missile", "spacecraft"))


def test_similar_leaves_out_the_photo_itself(demo_engine, demo_gallery):
    results = demo_engine.similar(demo_gallery / "coffee.png", k=4)
    assert "coffee.png" not in names(results) and len(results) == 4


def test_similar_works_for_a_photo_outside_the_catalogue(demo_engine, demo_gallery, tmp_path):
    outside = tmp_path / "cat-copy.png"
    outside.write_bytes((demo_gallery / "chelsea-the-cat.png").read_bytes())
    assert names(demo_engine.similar(outside, k=1)) == ["chelsea-the-cat.png"]


def test_nouns_near_dog(demo_engine):
    nouns = demo_engine.nouns("dog", k=10)
    assert nouns[0]["wnid"] == "n02084071"
    assert len(nouns) == 10 and nouns[0]["score"] >= nouns[-1]["score"]


def test_weighted_arithmetic_query_runs(demo_engine):
    assert demo_engine.search("2*cat + coffee - rocket", k=3)


def test_free_text_query_finds_the_coffee(demo_engine):
    assert names(demo_engine.search("a cup of coffee", k=1)) == ["coffee.png"]


def test_model_mismatch_is_an_error(demo_engine):
    with pytest.raises(NounlensError, match="reembed"):
        Engine.open(demo_engine.catalogue.path, encoder="glove")
