"""MiniLM through ONNX Runtime and `tokenizers` (models.minilm_onnx): the same vectors as
sentence-transformers, and which texts hold a word the model knows."""

from __future__ import annotations

import numpy as np
import pytest

from nounlens.data.wordnet import load_wordnet
from nounlens.models.minilm_onnx import TOLERANCE, onnx_file
from nounlens.models.text import get_encoder, noun_vectors

TEXTS = ["okapi", "a red sports car", "crane: large long-necked wading bird of marshes and plains",
         "Ünïcödé café, naïve résumés!", "2*dog + beach - water", "x", "dog " * 400,  # past 256 tokens
         "golden retriever: an English breed having a long silky golden coat"]


@pytest.fixture(scope="module")
def minilm():
    return get_encoder("minilm")


def test_onnx_minilm_matches_sentence_transformers(minilm):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(minilm.path), device="cpu")
    want = st.encode(TEXTS, convert_to_numpy=True, normalize_embeddings=True)
    got = minilm.encode(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert float(np.abs(got - want).max()) <= TOLERANCE


def test_onnx_minilm_is_exported_into_the_cache_once(minilm):
    path = minilm.onnx_path()
    assert path == onnx_file(minilm.digest) and path.stat().st_size > 50e6
    assert minilm.onnx_path() == path and path.stat().st_mtime_ns == minilm.onnx_path().stat().st_mtime_ns


def test_noun_table_and_onnx_queries_share_one_space(minilm):
    wordnet, table = load_wordnet(), noun_vectors(minilm)
    rows = np.arange(0, len(wordnet), 997)
    fresh = minilm.encode([wordnet.text(int(r)) for r in rows])
    assert float(np.abs(fresh - np.asarray(table.matrix[rows])).max()) <= TOLERANCE


def test_encoding_order_does_not_change_a_vector(minilm):
    # texts are batched by length; each row must still be its own text's vector
    one_by_one = np.stack([minilm.encode([t])[0] for t in TEXTS])
    assert float(np.abs(minilm.encode(TEXTS) - one_by_one).max()) <= TOLERANCE


@pytest.mark.parametrize("text", ["a red car", "okapi", "sparkly", "Café"])
def test_minilm_covers_text_with_a_word_it_knows(minilm, text):
    assert minilm.covers(text)


@pytest.mark.parametrize("text", ["xyzzyplugh", "the xyzzyplugh", "1984", "!!!", "qwertyuiop asdfghjk"])
def test_minilm_does_not_cover_text_with_no_word_it_knows(minilm, text):
    assert not minilm.covers(text)
