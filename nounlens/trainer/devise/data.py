"""From folders of photos to a DeViSE training set (cached features + targets), and the one call
`nounlens train devise` makes."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from nounlens.data.datasets import Labelled, load_labelled
from nounlens.data.errors import NounlensError
from nounlens.data.walk import FileEntry, walk
from nounlens.data.wordnet import imagenet_rows, load_wordnet
from nounlens.models.features import extract_features
from nounlens.models.text import NounVectors
from nounlens.trainer.devise.train import DeviseConfig, TrainingSet, TrainResult, soft_top, sparse_targets, train_devise


def label_set(items: list[Labelled], nouns: NounVectors) -> tuple[np.ndarray, np.ndarray]:
    """WordNet rows of the label set (ImageNet-1k first, then any other training label) and each
    photo's index in it."""
    wordnet = load_wordnet()
    rows = list(imagenet_rows())
    where = {int(r): i for i, r in enumerate(rows)}
    labels = []
    for it in items:
        if it.wnid not in wordnet.row_of:
            raise NounlensError(f"{it.path}: label {it.wnid} is not a WordNet 3.0 noun")
        r = wordnet.row_of[it.wnid]
        if r not in where:
            where[r] = len(rows)
            rows.append(r)
        labels.append(where[r])
    rows = np.array(rows)
    uncovered = int((~nouns.covered[rows]).sum())
    if uncovered:
        print(f"note: {uncovered} labels have no {nouns.encoder} vector; they only act as zero targets",
              file=sys.stderr)
    return rows, np.array(labels, dtype=np.int64)


def build_training_set(items: list[Labelled], unlabelled: list[str], nouns: NounVectors, backbone, cfg: DeviseConfig,
                       views: int = 1, progress: bool = True) -> TrainingSet:
    """Features of every view of every photo (cached), targets from labels and/or the softmax."""
    rows, labels = label_set(items, nouns)
    labels = np.concatenate([labels, -np.ones(len(unlabelled), dtype=np.int64)])
    # two caches, so that adding unlabelled photos does not recompute the labelled ones
    parts = [extract_features(paths, backbone, views=views, seed=cfg.seed, progress=progress, desc=desc)
             for paths, desc in (([it.path for it in items], "labelled photos"), (list(unlabelled), "unlabelled"))
             if paths]
    all_feats = np.concatenate([fs.features for fs in parts], axis=1)  # (views, photos, 1280)
    ok = np.flatnonzero(np.concatenate([fs.ok for fs in parts]))
    feats = all_feats[:, ok].reshape(-1, all_feats.shape[-1])  # view-major
    photo = np.tile(ok, views)
    row_labels = labels[photo]
    if cfg.soft > 0 or (row_labels < 0).any():
        top = np.zeros((len(feats), cfg.soft_top), dtype=np.int64)
        w = np.zeros((len(feats), cfg.soft_top), dtype=np.float32)
        for s in range(0, len(feats), 4096):
            logits = backbone.logits_from_features(feats[s:s + 4096].astype(np.float32))
            top[s:s + 4096], w[s:s + 4096] = soft_top(logits, cfg.soft_top, cfg.temperature)
    else:  # hard labels only: no soft columns
        top = np.zeros((len(feats), 0), dtype=np.int64)
        w = np.zeros((len(feats), 0), dtype=np.float32)
    idx, weights = sparse_targets(row_labels, top, w, cfg.soft)
    label_vectors = np.ascontiguousarray(nouns.matrix[rows], dtype=np.float32)
    dim = feats.shape[1]
    bias = backbone.logits_from_features(np.zeros((1, dim), dtype=np.float32))[0]
    weight = backbone.logits_from_features(np.eye(dim, dtype=np.float32)) - bias  # the classifier, read back
    return TrainingSet(feats, photo, idx, weights, label_vectors, (weight, bias))


def collect(data: list[str], split: str | None, unlabelled: list[str]) -> tuple[list[Labelled], list[str]]:
    items: list[Labelled] = []
    for folder in data:
        items += load_labelled(folder, split)
    extra = [e.path for e in walk(unlabelled) if isinstance(e, FileEntry)] if unlabelled else []
    if not items and not extra:
        raise NounlensError("nothing to train on: give --data with labelled photos or --unlabelled photos")
    return items, extra


def train_head(data: list[str], out: str | Path, encoder: str = "minilm", cfg: DeviseConfig | None = None,
               split: str | None = None, unlabelled: list[str] = (), views: int = 1, resume: bool = True,
               progress: bool = True, command: str = "") -> TrainResult:
    """Everything `nounlens train devise` does: collect photos, cache features, train, save the head."""
    from nounlens.models.backbone import Backbone
    from nounlens.models.text import get_encoder, noun_vectors

    cfg = cfg or DeviseConfig()
    t0 = time.perf_counter()
    items, extra = collect(list(data), split, list(unlabelled))
    if cfg.soft == 0 and not items:
        raise NounlensError("unlabelled photos teach only through soft targets: add --soft (e.g. 0.5)")
    text = get_encoder(encoder)
    nouns = noun_vectors(text)
    backbone = Backbone()
    train_set = build_training_set(items, extra, nouns, backbone, cfg, views, progress)
    meta = {"encoder": text.name, "encoder_digest": text.digest, "noun_text": nouns.noun_text,
            "nouns_digest": nouns.digest, "backbone": backbone.name, "backbone_digest": backbone.digest,
            "dim": text.dim, "data": [str(Path(d)) for d in data], "split": split,
            "unlabelled": [str(u) for u in unlabelled], "labelled_photos": len(items),
            "unlabelled_photos": len(extra), "views": views, "rows": int(len(train_set.features)),
            "command": command}
    result = train_devise(train_set, cfg, out, meta, resume=resume, progress=progress)
    result.head.meta["minutes"] = round((time.perf_counter() - t0) / 60, 2)
    result.head.save(out)
    return result
