"""data.columns: strings, ragged rows and sorted-key maps saved as .npy files and read back memory-mapped."""

from __future__ import annotations

import numpy as np
import pytest

from nounlens.data.columns import Fixed, Ragged, SortedKeys, SortedMap, Strings, load_columns, save_columns

WORDS = ["crane", "Ünïcödé", "", "golden_retriever", "é"]


@pytest.fixture
def saved(tmp_path):
    keys = sorted(["dog", "crane", "café", "cat", "zebra"])
    columns = {"wnids": Fixed.pack(["n001", "n002", "n010"]), "keys": Fixed.pack(keys),
               **{f"words.{k}": v for k, v in Strings.pack(WORDS).items()},
               **{f"rows.{k}": v for k, v in Ragged.pack([[1, 2], [], [7], [3, 4, 5], [0]]).items()}}
    save_columns(tmp_path / "table", columns)
    return load_columns(tmp_path / "table"), keys


def test_strings_read_back_one_by_one_and_whole(saved):
    columns, _ = saved
    words = Strings(columns["words.blob"], columns["words.ends"])
    assert [words[i] for i in range(len(words))] == list(words) == WORDS
    assert words[-1] == "é" and words[1:3] == WORDS[1:3]
    with pytest.raises(IndexError):
        words[len(WORDS)]


def test_ragged_rows_read_back_as_tuples(saved):
    columns, _ = saved
    rows = Ragged(columns["rows.values"], columns["rows.ends"])
    assert list(rows) == [(1, 2), (), (7,), (3, 4, 5), (0,)] and rows[3] == (3, 4, 5) and rows[-1] == (0,)


def test_sorted_keys_find_each_key_and_miss_the_rest(saved):
    columns, keys = saved
    position = SortedKeys(Fixed(columns["keys"]))
    assert [position[k] for k in keys] == list(range(len(keys)))
    assert "cafe" not in position and "" not in position and "z" * 200 not in position and "zzz" not in position
    assert SortedKeys(Fixed(columns["wnids"])).get("n010") == 2


def test_sorted_map_pairs_keys_with_rows(saved):
    columns, keys = saved
    table = SortedMap(Fixed(columns["keys"]), Ragged(columns["rows.values"], columns["rows.ends"]))
    assert table["café"] == (1, 2) and table.get("nope") is None
    assert dict(table.items()) == {k: table[k] for k in keys} and len(table) == len(keys)


def test_columns_load_memory_mapped_and_read_only(saved):
    columns, _ = saved
    assert all(isinstance(a.base, np.memmap) and not a.flags.writeable for a in columns.values())
