"""The figures issue 20 asks for beside the main tables, for each text encoder: held-out and all-fold
mAP with the settings chosen (tuning), the classes that lose most against plain ConSE, the page's
threshold, lemmas and everyday words (queries), and the picture queries' right counts. JSON-ready."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from nounlens.search.ranking import DEFAULT, PAGE_THRESHOLD
from nounlens.trainer.quality import queries, tuning
from nounlens.trainer.quality.evaluate import EvalData, Gallery, Method, methods

WORST = 5
PICTURE_QUERIES = ("okapi", "pagoda", "menorah", "wheelchair", "sunflower", "euphonium", "pigeon", "Windsor_chair")
PICTURE_K = 8


def right_in_top(gallery: Gallery, method: Method, names: tuple[str, ...], k: int = PICTURE_K) -> dict[str, int]:
    """How many of each class noun's top k photos carry its label (the picture's green frames)."""
    by_name = {c["name"]: c for c in gallery.classes}
    out = {}
    for name in (n for n in names if n in by_name):
        row = by_name[name]["row"]
        top = np.argsort(-method.rank(gallery.features, row), kind="stable")[:k]
        out[name] = int((gallery.rows[top] == row).sum())
    return out


def worst_classes(gallery: Gallery, cv: dict, default: np.ndarray, n: int = WORST) -> list[dict]:
    """The n classes whose held-out AP falls furthest below plain ConSE's, with the default's beside."""
    drop = cv["held_out"] - cv["conse"]
    return [{"name": gallery.classes[i]["name"], "group": gallery.classes[i]["group"],
             "conse": float(cv["conse"][i]), "held_out": float(cv["held_out"][i]), "default": float(default[i])}
            for i in np.argsort(drop, kind="stable")[:n]]


def harmed(gallery: Gallery, aps: np.ndarray, conse: np.ndarray) -> list[str]:
    return [c["name"] for c, a, b in zip(gallery.classes, aps, conse, strict=True) if a < b - tuning.HARM]


def cv_summary(gallery: Gallery, cv: dict, default: np.ndarray, exact: dict[str, np.ndarray]) -> dict:
    """The cross-validation as JSON: group means, settings, harmed classes and the worst five."""
    return {"held_out_map": cv["held_out_map"], "all_fold_map": cv["all_fold_map"], "conse_map": cv["conse_map"],
            "default_map": tuning.group_means(default, cv["groups"]),
            "settings": asdict(cv["settings"]), "fold_settings": [asdict(s) for s in cv["fold_settings"]],
            "shipped": asdict(DEFAULT), "shipped_is_all_fold": cv["settings"] == DEFAULT,
            "grid_size": cv["grid_size"], "folds": tuning.FOLDS,
            "fold_classes": [int((cv["fold"] == f).sum()) for f in range(tuning.FOLDS)],
            "harmed_held_out": harmed(gallery, cv["held_out"], cv["conse"]),
            "harmed_default": harmed(gallery, default, cv["conse"]),
            "harmed_default_exact_labels": harmed(gallery, exact["default"], exact["conse"]),
            "worst": worst_classes(gallery, cv, default)}


def honest_figures(data: EvalData, result: dict, encoder: str, backbone, wordnet) -> dict:
    """Everything above for one encoder; `result` is run_quality's, whose per-class APs are reused."""
    from nounlens.models.text import get_encoder, noun_vectors
    from nounlens.search.query import QueryEncoder

    gallery, runs = data.gallery, result["runs"][encoder]
    nouns = noun_vectors(get_encoder(encoder))
    ms = methods(encoder, backbone, nouns, {"conse": None, "default": "default"}, wordnet)
    per_class = {name: runs[name]["text_to_photo"]["per_class"] for name in ("conse", "default")}
    conse, default = (np.array([per_class[m][c["wnid"]]["ap"] for c in gallery.classes]) for m in ("conse", "default"))
    exact = {m: np.array([per_class[m][c["wnid"]]["ap_exact"] for c in gallery.classes]) for m in per_class}
    cv = tuning.cross_validate(gallery, ms["default"], conse)
    threshold = tuning.page_threshold(gallery, ms["default"], cv)
    encoder_q = QueryEncoder(wordnet, nouns, get_encoder(encoder))
    return {"cv": cv_summary(gallery, cv, default, exact),
            "threshold": threshold | {"shipped": PAGE_THRESHOLD},
            "beyond": queries.beyond_names(gallery, ms["default"], encoder_q, per_class["default"]),
            "picture": {m: right_in_top(gallery, ms[m], PICTURE_QUERIES) for m in ("conse", "default")}}
