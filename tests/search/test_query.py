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
