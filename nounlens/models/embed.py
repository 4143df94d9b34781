"""Image -> text space. ConSE needs no training; a DeViSE head is a learned map (trainer builds it)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.data.paths import WEIGHTS, file_digest
from nounlens.data.wordnet import imagenet_rows
from nounlens.models.backbone import Backbone, softmax, weights_path
from nounlens.models.heads import Head
from nounlens.models.text import NounVectors, TextEncoder, get_encoder, noun_vectors, unit_rows

HEADS = ("conse", "devise")
DEFAULT_HEAD = "conse"  # the DeViSE head becomes the default only where it measures better (docs/quality.md)


class ImageEmbedder:
    """Maps a batch of backbone outputs to unit vectors in the text space."""

    name: str
    dim: int

    def __call__(self, features: np.ndarray, logits: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ConSE(ImageEmbedder):
    """Norouzi et al. 2014: the probability-weighted mean of the top-T ImageNet class vectors."""

    def __init__(self, nouns: NounVectors, class_rows: np.ndarray, top: int = 10):
        self.class_vectors = np.ascontiguousarray(nouns.matrix[class_rows], dtype=np.float32)
        self.top = top
        self.dim = self.class_vectors.shape[1]
        self.name = f"conse-T{top}"

    def __call__(self, features: np.ndarray, logits: np.ndarray) -> np.ndarray:
        p = softmax(logits.astype(np.float32))
        top = np.argpartition(-p, self.top - 1, axis=1)[:, : self.top]
        weights = np.take_along_axis(p, top, axis=1)
        mixed = np.einsum("nt,ntd->nd", weights, self.class_vectors[top])
        return unit_rows(mixed)


class DeViSE(ImageEmbedder):
    """Frome et al. 2013: a head trained (trainer.devise.train) to map pooled features into the text space."""

    def __init__(self, path: Path, text: TextEncoder, nouns: NounVectors, backbone: str):
        self.head = Head.load(path)
        meta = self.head.meta
        want = {"encoder": text.name, "nouns_digest": nouns.digest, "backbone": backbone}
        for key, value in want.items():
            if meta.get(key) != value:
                raise NounlensError(f"DeViSE head {path.name} was trained for {key} {meta.get(key)!r}, not "
                                    f"{value!r}: train one for this stack with `nounlens train devise`")
        self.dim = self.head.dim
        self.name = f"devise:{path.stem}"

    def __call__(self, features: np.ndarray, logits: np.ndarray) -> np.ndarray:
        return self.head(features)


def shipped_head(encoder: str) -> Path:
    return WEIGHTS / f"devise-{encoder}.npz"


class ModelStack:
    """Backbone + text encoder + image embedder, each loaded on first use: a noun search needs only
    the cached noun table, not torch."""

    def __init__(self, backbone: str = "efficientnet-lite0", text: str = "minilm", vectors: str | None = None,
                 head: str = DEFAULT_HEAD, top: int = 10, runtime: str = "onnx"):
        self.backbone_name, self.text_name, self.vectors_path = backbone, text, vectors
        self.head, self.top, self.runtime = head, top, runtime
        if head not in HEADS and not head.endswith(".npz"):
            raise NounlensError(f"unknown image embedding {head!r}; choose one of {', '.join(HEADS)} "
                                "(or the path of a trained head, .npz)")

    @functools.cached_property
    def text(self) -> TextEncoder:
        return get_encoder(self.text_name, self.vectors_path)

    @functools.cached_property
    def nouns(self) -> NounVectors:
        return noun_vectors(self.text)

    @functools.cached_property
    def backbone(self) -> Backbone:
        return Backbone(self.backbone_name, runtime=self.runtime)

    @functools.cached_property
    def embedder(self) -> ImageEmbedder:
        if self.head == "conse":
            return ConSE(self.nouns, imagenet_rows(), self.top)
        return DeViSE(self.head_path, self.text, self.nouns, self.backbone_name)

    @property
    def head_path(self) -> Path | None:
        """The trained head's file: the one shipped for this text encoder, or the path given."""
        if self.head == "conse":
            return None
        if self.head.endswith(".npz"):
            return Path(self.head).expanduser()
        return shipped_head(self.text_name)

    @property
    def embed_name(self) -> str:
        if self.head == "conse":
            return f"conse-T{self.top}"
        return f"devise:{self.head_path.stem}"

    def describe(self) -> dict:
        """What the manifest records; opening a catalogue with a different stack is an error."""
        return {
            "backbone": {"name": self.backbone_name, "digest": file_digest(weights_path(self.backbone_name)),
                         "runtime": self.runtime},
            "text": {"name": self.text.name, "digest": self.text.digest, "noun_text": self.text.noun_text,
                     "dim": self.text.dim},
            "embed": self.describe_embed(),
        }

    def describe_embed(self) -> dict:
        if self.head == "conse":
            return {"name": self.embed_name, "head": "conse", "top": self.top}
        if not self.head_path.exists():
            raise NounlensError(f"no DeViSE head for text encoder {self.text_name!r} at {self.head_path}: "
                                "train one with `nounlens train devise`")
        # "head" is what reopening needs: "devise" (the shipped head, wherever the package lives) or a path
        return {"name": self.embed_name, "head": self.head, "digest": file_digest(self.head_path),
                "path": str(self.head_path)}

    def embed_pixels(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """uint8 (N, S, S, 3) -> (features, logits, unit vectors)."""
        features, logits = self.backbone(pixels)
        return features, logits, self.embedder(features, logits)

    def embed_features(self, features: np.ndarray) -> np.ndarray:
        """Re-projection from stored features, no photo read."""
        features = features.astype(np.float32)
        return self.embedder(features, self.backbone.logits_from_features(features))
