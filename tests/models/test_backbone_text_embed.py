import numpy as np
import pytest

from nounlens.data.demo import skimage_data_dir
from nounlens.data.images import read_and_decode
from nounlens.data.wordnet import imagenet_rows, load_wordnet
from nounlens.models.backbone import Backbone
from nounlens.models.embed import ConSE
from nounlens.models.text import get_encoder, noun_vectors


def photos(*names):
    return np.stack([read_and_decode(str(skimage_data_dir() / n))[1].pixels for n in names])


@pytest.fixture(scope="module")
def onnx_outputs():
    return Backbone(runtime="onnx")(photos("chelsea.png", "coffee.png"))


def test_onnx_matches_torch(onnx_outputs):
    f1, y1 = onnx_outputs
    f2, y2 = Backbone(runtime="torch")(photos("chelsea.png", "coffee.png"))
    assert f1.shape == (2, 1280) and y1.shape == (2, 1000)
    assert np.abs(f1 - f2).max() < 1e-3 and np.abs(y1 - y2).max() < 1e-3


def test_stored_features_give_back_the_logits(onnx_outputs):
    f1, y1 = onnx_outputs
    assert np.allclose(Backbone(runtime="onnx").logits_from_features(f1), y1, atol=1e-3)


def test_backbone_classifies_real_photos(onnx_outputs):
    _, y1 = onnx_outputs
    assert 281 <= y1[0].argmax() <= 285  # a domestic cat class
    assert y1[1].argmax() == 967  # espresso


def test_minilm_vectors_are_unit_and_semantic():
    enc = get_encoder("minilm")
    v = enc.encode(["a dog", "a puppy", "a tax return"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_minilm_noun_table_covers_every_wordnet_noun():
    table = noun_vectors(get_encoder("minilm"))
    assert table.matrix.shape == (82115, 384) and table.covered.all()


def test_conse_is_a_unit_mix_of_top_classes():
    enc = get_encoder("minilm")
    nouns = noun_vectors(enc)
    conse = ConSE(nouns, imagenet_rows(), top=10)
    logits = np.full((1, 1000), -20.0, dtype=np.float32)
    logits[0, 967] = 20.0  # all mass on espresso
    v = conse(None, logits)
    espresso = nouns.matrix[imagenet_rows()[967]]
    assert abs(float(v[0] @ espresso) - 1) < 1e-4
    assert load_wordnet().noun(imagenet_rows()[967]).name == "espresso"
