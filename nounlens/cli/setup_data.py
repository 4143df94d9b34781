"""Set-up step (scripts/setup.sh): WordNet for nltk, the ImageNet check, the ONNX export and the
default encoder's noun-vector table, so the first search does not pay for them."""

from __future__ import annotations

import sys

from nounlens.data.wordnet import imagenet_rows, install_nltk_wordnet, load_wordnet
from nounlens.models.backbone import Backbone
from nounlens.models.text import get_encoder, noun_vectors


def main(encoders: list[str]) -> None:
    install_nltk_wordnet()
    wordnet = load_wordnet()
    imagenet_rows()
    Backbone().onnx_path()
    for name in encoders:
        table = noun_vectors(get_encoder(name), wordnet)
        print(f"[setup] {name}: {int(table.covered.sum()):,} of {len(wordnet):,} WordNet nouns have vectors")


if __name__ == "__main__":
    main(sys.argv[1:] or ["minilm", "glove"])
