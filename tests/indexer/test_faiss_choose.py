"""Which FAISS index for which count, dimension and budget (indexer/faiss_choose.py)."""

import pytest

from nounlens.indexer import faiss_choose as C
from nounlens.indexer.faiss_choose import FLAT, HNSW, IVFPQ, choose, parse_bytes

GB = 2**30


def test_parse_bytes_reads_binary_units():
    assert parse_bytes("2GB") == 2 * GB and parse_bytes("512MB") == 512 * 2**20 and parse_bytes("1.5g") == 1.5 * GB


def test_parse_bytes_rejects_what_is_not_a_size():
    with pytest.raises(ValueError):
        parse_bytes("lots")


def test_size_classes_are_powers_of_4_from_4096():
    assert [C.size_class(n) for n in (1, 4096, 4097, 1_000_000, 1_048_577)] == [4096, 4096, 16384, 1048576, 4194304]


def test_small_catalogues_get_an_exact_scan_longer_for_fewer_dimensions():
    # GloVe's 50-d vectors stay exact 4x longer than MiniLM's 384-d
    assert choose(16_000, 384).kind == FLAT and choose(20_000, 384).kind == HNSW
    assert choose(60_000, 50).kind == FLAT and choose(100_000, 50).kind == HNSW


def test_medium_catalogues_get_hnsw_within_the_budget():
    hnsw = choose(50_000, 384)
    assert hnsw.kind == HNSW and hnsw.est_bytes <= C.DEFAULT_BUDGET and hnsw.params["M"] == C.HNSW_M


def test_a_graph_that_would_not_fit_the_budget_gives_ivfpq():
    assert choose(50_000, 384, 100 * 2**20).kind == IVFPQ


def test_large_catalogues_get_ivfpq():
    assert choose(100_000, 384).kind == IVFPQ and choose(1_000_000, 50).kind == IVFPQ


def test_ivfpq_takes_d_over_4_pq_bytes_and_reranks_from_float16_copies():
    large = choose(1_000_000, 384)
    assert large.kind == IVFPQ and large.params == {"nlist": 4096, "m": 96, "nbits": 8, "refine": "fp16"}


def test_ivfpq_reranks_from_the_catalogue_when_float16_copies_do_not_fit():
    large = choose(1_000_000, 384)
    assert choose(1_000_000, 384, 512 * 2**20).params == dict(large.params, refine="catalogue")


def test_a_tight_budget_takes_fewer_pq_bytes_that_divide_the_dimension():
    tighter = choose(1_000_000, 384, 100 * 2**20)
    assert tighter.kind == IVFPQ and tighter.params["m"] < 96 and tighter.est_bytes <= 100 * 2**20
    assert 384 % tighter.params["m"] == 0


def test_huge_catalogues_get_more_lists_within_the_default_budget():
    huge = choose(5_000_000, 384)
    assert huge.kind == IVFPQ and huge.params["nlist"] == 16384 and huge.est_bytes <= C.DEFAULT_BUDGET


def test_a_kind_can_be_forced():
    assert choose(50_000, 50, kind=IVFPQ).kind == IVFPQ


def test_an_unknown_kind_is_rejected():
    with pytest.raises(ValueError):
        choose(10, 8, kind="LSH")
