"""Set-up step (scripts/setup.sh): WordNet for nltk and its memory-mapped noun table, the ImageNet check,
the ONNX exports (the backbone, and MiniLM checked against sentence-transformers) and each encoder's
noun-vector table, so the first search pays for none of them."""

from __future__ import annotations

import sys

from nounlens.data.wordnet import imagenet_rows, install_nltk_wordnet, load_wordnet
from nounlens.models.backbone import Backbone
from nounlens.models.text import MiniLM, get_encoder, noun_vectors


def main(encoders: list[str]) -> None:
    install_nltk_wordnet()
    wordnet = load_wordnet()
    imagenet_rows()
    Backbone().onnx_path()
    for name in encoders:
        encoder = get_encoder(name)
        if isinstance(encoder, MiniLM):
            encoder.onnx_path()
        table = noun_vectors(encoder, wordnet)
        print(f"[setup] {name}: {int(table.covered.sum()):,} of {len(wordnet):,} WordNet nouns have vectors")


if __name__ == "__main__":
    main(sys.argv[1:] or ["minilm", "glove"])
