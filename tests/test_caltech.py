"""Zero-shot search over ../shared/data/zeroshot-caltech101: nouns no photo was ever labelled with."""

import csv
from pathlib import Path

import pytest
from conftest import SHARED, needs_shared

from nounlens import Engine

GALLERY = SHARED / "zeroshot-caltech101"


@pytest.fixture(scope="module")
def caltech(tmp_path_factory):
    engine = Engine.open(tmp_path_factory.mktemp("caltech") / "cat", create=True)
    summary = engine.index([GALLERY / "images"], progress=False)
    assert summary.added == 1572 and summary.skipped == 0
    with open(GALLERY / "labels.csv") as f:
        labels = {str((GALLERY / row["path"]).absolute()): row["wnid"] for row in csv.DictReader(f)}
    return engine, labels


@needs_shared
@pytest.mark.parametrize("query, wnid", [("mandolin", "n03716966"), ("helicopter", "n03512147"),
                                         ("Windsor chair", "n04590933"), ("earphone", "n03261776")])
def test_zero_shot_nouns_find_their_class_in_the_top_5(caltech, query, wnid):
    engine, labels = caltech
    top = [labels[r.path] for r in engine.search(query, k=5)]
    assert wnid in top, (query, top)


@needs_shared
def test_okapi_search_returns_photos(caltech):
    engine, _ = caltech
    results = engine.search("okapi", k=5)
    assert len(results) == 5 and all(Path(r.path).exists() for r in results)
