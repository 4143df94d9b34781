"""`Engine`'s query methods refuse a bad k with one line, as the CLI's parser does (issue 21), on the demo
gallery's real catalogue."""

from __future__ import annotations

import pytest

from nounlens.data.errors import NounlensError
from nounlens.data.limits import MAX_K

BAD_K = [0, -1, MAX_K + 1, 10**9, 2.5, "5", True]


def calls(engine, gallery) -> dict:
    """Each query method with the k to put in it."""
    photo = gallery / "coffee.png"
    first = next(iter(engine.catalogue.iter_records())).id
    return {"search": lambda k: engine.search("cat", k), "similar": lambda k: engine.similar(photo, k),
            "label": lambda k: engine.label(photo, k), "nouns": lambda k: engine.nouns("dog", k),
            "similar_to": lambda k: engine.similar_to(first, k), "photo_nouns": lambda k: engine.photo_nouns(first, k),
            "search_vector": lambda k: engine.search_vector(engine.resolve("cat")[0], k)}


@pytest.mark.parametrize("k", BAD_K, ids=repr)
@pytest.mark.parametrize("method", ["search", "similar", "label", "nouns", "similar_to", "photo_nouns",
                                    "search_vector"])
def test_bad_k_is_a_one_line_error(demo_engine, demo_gallery, method, k):
    with pytest.raises(NounlensError, match="k must be") as e:
        calls(demo_engine, demo_gallery)[method](k)
    assert "\n" not in str(e.value)


def test_k_over_the_catalogue_gives_every_photo(demo_engine):
    assert len(demo_engine.search("cat", MAX_K)) == len(demo_engine.catalogue)


def test_label_at_the_bound_gives_that_many_nouns(demo_engine, demo_gallery):
    assert len(demo_engine.label(demo_gallery / "coffee.png", MAX_K)) == MAX_K  # not "kth out of bounds"
