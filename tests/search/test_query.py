import re
import warnings

import numpy as np
import pytest

from nounlens.data.errors import NounlensError
from nounlens.data.wordnet import load_wordnet
from nounlens.models.text import get_encoder, noun_vectors
from nounlens.search.query import QueryEncoder, parse


def test_parse_weights_signs_senses():
    terms = parse("2*dog + beach - water")
    assert [(t.weight, t.text) for t in terms] == [(2.0, "dog"), (1.0, "beach"), (-1.0, "water")]
    assert parse("t-shirt")[0].text == "t-shirt"
    assert (parse("crane%bird")[0].text, parse("crane%bird")[0].hint) == ("crane", "bird")
    assert parse("golden retriever + 0.5*cat")[1].weight == 0.5


@pytest.mark.parametrize("bad", ["", "   ", "dog +", "*", "2*", "crane%", "%bird", "+ -"])
def test_malformed_queries_raise(bad):
    with pytest.raises(NounlensError):
        parse(bad)


@pytest.fixture(scope="module")
def minilm_queries():
    enc = get_encoder("minilm")
    return QueryEncoder(load_wordnet(), noun_vectors(enc), enc)


def test_senses_wnids_and_free_text(minilm_queries):
    q = minilm_queries
    assert q.resolve(parse("crane%bird")[0]).row == load_wordnet().row_of["n02012849"]
    assert q.resolve(parse("crane%machine")[0]).row == load_wordnet().row_of["n03126707"]
    assert q.resolve(parse("n02439398")[0]).how == "wnid"
    assert q.resolve(parse("golden_retriever")[0]).how == "noun"
    free = q.resolve(parse("a dog running on the beach")[0])
    assert free.how == "free text" and abs(np.linalg.norm(free.vector) - 1) < 1e-4
    with pytest.raises(NounlensError, match="unknown wnid"):
        q.resolve(parse("n99999999")[0])
    vec, resolved = q.encode("2*dog + beach - water")
    assert len(resolved) == 3 and abs(np.linalg.norm(vec) - 1) < 1e-5
    with pytest.raises(NounlensError, match="cancels out"):
        q.encode("dog - dog")


def test_glove_reports_uncovered_words():
    enc = get_encoder("glove")
    table = noun_vectors(enc)
    assert 0.85 < table.covered.mean() < 1.0  # most nouns, not all
    q = QueryEncoder(load_wordnet(), table, enc)
    with pytest.raises(NounlensError, match="not a WordNet noun and not in the glove"):
        q.resolve(parse("zzqxv")[0])
    uncovered = int(np.flatnonzero(~table.covered)[0])
    with pytest.raises(NounlensError, match="not searchable"):
        q.noun_vector(uncovered)


def test_a_hint_that_matches_no_sense_is_an_error_listing_the_senses(minilm_queries):
    with pytest.raises(NounlensError) as err:
        minilm_queries.encode("crane%xyz")
    message = str(err.value)
    assert message.startswith('crane%xyz: no sense of "crane" matches "xyz"; try ')
    assert "crane%bird (wading bird)" in message and "crane%device (lifting device)" in message
    assert "\n" not in message


def test_each_hint_the_error_lists_picks_its_own_sense(minilm_queries):
    q = minilm_queries
    with pytest.raises(NounlensError) as err:
        q.encode("crane%xyz")
    listed = re.findall(r"(crane%[^(,]+) \(", str(err.value).split("; try ", 1)[1])
    rows = [q.resolve(parse(term)[0]).row for term in listed]
    assert sorted(rows) == sorted(load_wordnet().lookup("crane"))  # all five senses, each once


def test_a_hint_picks_by_meaning_only_a_clearly_nearest_sense(minilm_queries):
    q = minilm_queries
    assert q.resolve(parse("crane%machine")[0]).row == load_wordnet().row_of["n03126707"]
    with pytest.raises(NounlensError, match="no sense of \"crane\" matches \"origami\""):
        q.resolve(parse("crane%origami")[0])  # near all five senses alike


@pytest.mark.parametrize("text", ["xyzzyplugh", "the xyzzyplugh", "1984"])
def test_free_text_with_no_word_the_model_knows_says_so(minilm_queries, text):
    with pytest.raises(NounlensError, match=f"unknown word '{text}': not a WordNet noun and not in the minilm"):
        minilm_queries.encode(text)


def test_weights_parse_in_exponent_notation():
    assert [t.weight for t in parse("2.5e-1*dog + 1e3*cat - 1E2*water")] == [0.25, 1000.0, -100.0]


@pytest.mark.parametrize("query", ["1e39*dog", "1001*dog", "dog - 2000*cat",
                                   "99999999999999999999999999999999999999999*dog"])
def test_weights_beyond_a_thousand_are_one_line_errors(query):
    with pytest.raises(NounlensError, match="out of range: a weight is a number from -1,000 to 1,000"):
        parse(query)


def test_the_largest_weights_encode_without_numpy_warnings(minilm_queries):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vec, resolved = minilm_queries.encode("1000*dog - 1e3*cat + 1e-3*beach")
    assert [r.term.weight for r in resolved] == [1000.0, -1000.0, 0.001]
    assert np.isfinite(vec).all() and abs(np.linalg.norm(vec) - 1) < 1e-5
