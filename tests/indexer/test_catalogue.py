"""The LMDB catalogue (indexer/catalogue.py): records, paths, thumbnails, vectors and features written
and read back, one generation per write, ids never reused, clear errors for what is not a catalogue."""

import numpy as np
import pytest
from indexer_support import random_photo as photo

from nounlens.data.errors import NounlensError
from nounlens.indexer.catalogue import Catalogue


@pytest.fixture
def cat(tmp_path):
    """A new catalogue, closed after the test."""
    cat = Catalogue.open(tmp_path / "c", create=True)
    yield cat
    cat.close()


def two_photos(cat: Catalogue) -> list[int]:
    return list(cat.write(add=[photo("/p/a.jpg", 1), photo("/p/b.jpg", 2)]))


def replaced_touched_and_removed(cat: Catalogue) -> list[int]:
    """a.jpg and b.jpg added (generation 1), a.jpg replaced and b.jpg touched (2), a.jpg removed (3)."""
    ids = two_photos(cat)
    cat.write(replace={ids[0]: photo("/p/a.jpg", 3)}, touch={ids[1]: (99, 12345)})
    cat.write(remove=[ids[0]])
    return ids


def test_a_new_catalogue_is_empty_at_generation_0(cat):
    assert cat.generation() == 0 and len(cat) == 0


def test_a_write_adds_its_photos_in_one_generation(cat):
    two_photos(cat)
    assert cat.generation() == 1 and len(cat) == 2


def test_records_are_read_by_id_and_found_by_path(cat):
    ids = two_photos(cat)
    a = cat.record(ids[0])
    assert a.path == "/p/a.jpg" and a.hash == "h1" and cat.id_for_path("/p/b.jpg") == ids[1]


def test_thumbnails_are_read_by_id(cat):
    ids = two_photos(cat)
    assert cat.thumb(ids[1]) == b"jpeg2"


def test_vectors_come_back_unit_and_in_id_order(cat):
    ids = two_photos(cat)
    got_ids, vecs = cat.vectors()
    assert list(got_ids) == ids and vecs.shape == (2, 8) and np.allclose(np.linalg.norm(vecs, axis=1), 1)


def test_features_are_stored_as_float16(cat):
    ids = two_photos(cat)
    assert cat.features([ids[0]])[1].dtype == np.float16


def test_replace_and_touch_update_records_in_place(cat):
    ids = two_photos(cat)
    cat.write(replace={ids[0]: photo("/p/a.jpg", 3)}, touch={ids[1]: (99, 12345)})
    assert cat.record(ids[0]).hash == "h3" and cat.record(ids[1]).mtime_ns == 12345


def test_remove_drops_record_path_and_thumbnail(cat):
    ids = replaced_touched_and_removed(cat)
    assert len(cat) == 1 and cat.id_for_path("/p/a.jpg") is None and cat.thumb(ids[0]) is None


def test_every_write_is_one_generation(cat):
    replaced_touched_and_removed(cat)
    assert cat.generation() == 3


def test_ids_are_never_reused(cat):
    ids = replaced_touched_and_removed(cat)
    new = list(cat.write(add=[photo("/p/c.jpg", 4)]))
    assert new[0] not in ids  # ids are never reused


def test_a_reopened_catalogue_reads_what_was_written(cat, tmp_path):
    replaced_touched_and_removed(cat)
    cat.write(add=[photo("/p/c.jpg", 4)])
    cat.close()
    reopened = Catalogue.open(tmp_path / "c", readonly=True)
    assert len(reopened) == 2 and reopened.generation() == 4
    reopened.close()


def test_opening_a_missing_catalogue_is_a_clear_error(tmp_path):
    with pytest.raises(NounlensError, match="no catalogue"):
        Catalogue.open(tmp_path / "nothing")


def test_creating_a_catalogue_in_a_foreign_folder_is_a_clear_error(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(NounlensError, match="not empty"):
        Catalogue.open(tmp_path / "busy", create=True)
