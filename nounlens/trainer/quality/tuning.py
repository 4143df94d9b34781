"""Honest figures: every search-ranking setting (search.ranking.Ranking) chosen by cross-validation over
the gallery's classes, so no class's figure comes from a setting chosen with that class in view.

Each group (strict, hypernym, ImageNet) is cut into FOLDS folds of classes. For each fold, the setting is
chosen on the other folds and the fold's classes are measured under it: those held-out figures are the
headline. The setting chosen on all folds is what search.ranking ships. A setting is chosen by, first,
the fewest classes harmed (AP more than HARM below plain ConSE), then the highest mean of the three
groups' mAPs. One table of per-class APs serves every split: each class is ranked once per setting.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import asdict, fields

import numpy as np

from nounlens.search.ranking import DEFAULT, Ranking, rerank
from nounlens.trainer.quality import metrics
from nounlens.trainer.quality.evaluate import GROUPS, Gallery, Method, spread

FOLDS = 3
HARM = 0.10  # a class is harmed when its AP falls more than this below plain ConSE
PRECISION = 0.5  # the page threshold: results above it are right at least this often
GRID = {"mix": (0.7, 0.8, 0.9, 1.0), "tau": (0.02, 0.03, 0.06), "zero_shot_mix": (0.2, 0.3, 0.4, 0.5),
        "zero_shot_tau": (0.1, 0.2, 0.3), "feedback_top": (10, 20, 30),
        "feedback_weight": (0.5, 1.0, 1.5, 2.0), "agreement": (0.02, 0.05, 0.1)}
ZERO_SHOT_ONLY = ("zero_shot_mix", "zero_shot_tau")  # settings an exact query never reads
EXACT_ONLY = ("mix", "tau")  # and those a zero-shot query never reads


def settings_grid(grid: dict[str, tuple] = GRID) -> list[Ranking]:
    """Every combination of the grid's values (fields it leaves out keep their defaults)."""
    names = list(grid)
    return [Ranking(**(asdict(DEFAULT) | dict(zip(names, values, strict=True))))
            for values in itertools.product(*grid.values())]


def fold_of(classes: list[dict], folds: int = FOLDS) -> dict[str, int]:
    """wnid -> fold: within each group, classes in the order of a hash of their wnid, dealt round-robin,
    so every fold holds a third of each group and the split does not depend on file order."""
    out = {}
    for group in GROUPS:
        wnids = sorted((c["wnid"] for c in classes if c["group"] == group),
                       key=lambda w: hashlib.blake2b(w.encode(), digest_size=8).digest())
        out |= {w: i % folds for i, w in enumerate(wnids)}
    return out


def _relevant_key(settings: Ranking, exact: bool) -> tuple:
    """The settings a query of this kind reads: two settings with the same key rank it the same."""
    skip = ZERO_SHOT_ONLY if exact else EXACT_ONLY
    return tuple(getattr(settings, f.name) for f in fields(Ranking) if f.name not in skip)


def ap_table(gallery: Gallery, method: Method, grid: list[Ranking]) -> np.ndarray:
    """(classes, settings) AP of each class noun as a query under each setting; each class's candidates
    are built once and ranked once per distinct setting it reads."""
    table = np.zeros((len(gallery.classes), len(grid)))
    for i, c in enumerate(gallery.classes):
        cos, cand, candidates = method.candidates(gallery.features, method.matrix[c["row"]], [(c["row"], 1.0)])
        right, seen = gallery.right(c["row"]), {}
        for j, settings in enumerate(grid):
            key = _relevant_key(settings, candidates.exact)
            if key not in seen:
                seen[key] = metrics.average_precision(right, spread(cos, cand, rerank(candidates, settings)))
            table[i, j] = seen[key]
    return table


def choose(table: np.ndarray, conse: np.ndarray, groups: np.ndarray, train: np.ndarray) -> int:
    """The setting (column) with the fewest training classes harmed, then the best mean of group mAPs."""
    harmed = (table[train] < conse[train, None] - HARM).sum(axis=0)
    quality = np.mean([table[train & (groups == g)].mean(axis=0) for g in GROUPS if (train & (groups == g)).any()],
                      axis=0)
    best = np.flatnonzero(harmed == harmed.min())
    return int(best[np.argmax(quality[best])])


def group_means(aps: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    return {g: float(aps[groups == g].mean()) for g in GROUPS if (groups == g).any()}


def select(table: np.ndarray, conse: np.ndarray, groups: np.ndarray, fold: np.ndarray) -> tuple:
    """(held-out APs, the setting chosen for each fold, the one chosen on all): each fold's classes are
    measured under the setting chosen without them."""
    held, chosen = np.zeros(len(fold)), []
    for f in range(int(fold.max()) + 1):
        j = choose(table, conse, groups, fold != f)
        held[fold == f] = table[fold == f, j]
        chosen.append(j)
    return held, chosen, choose(table, conse, groups, np.ones(len(fold), dtype=bool))


def cross_validate(gallery: Gallery, method: Method, conse: np.ndarray, grid: list[Ranking] | None = None,
                   folds: int = FOLDS) -> dict:
    """Held-out and all-fold figures. `conse`: each class's AP under plain ConSE (the harm baseline)."""
    grid = grid or settings_grid()
    table = ap_table(gallery, method, grid)
    groups = np.array([c["group"] for c in gallery.classes])
    fold = np.array([fold_of(gallery.classes, folds)[c["wnid"]] for c in gallery.classes])
    held, chosen, every = select(table, conse, groups, fold)
    return {"fold": fold, "groups": groups, "conse": conse, "held_out": held, "all_fold": table[:, every],
            "fold_settings": [grid[j] for j in chosen], "settings": grid[every], "grid_size": len(grid),
            "held_out_map": group_means(held, groups), "all_fold_map": group_means(table[:, every], groups),
            "conse_map": group_means(conse, groups)}


def pooled_results(gallery: Gallery, method: Method, settings: Ranking, which: np.ndarray) -> tuple:
    """(scores, right) of every candidate of the classes `which` as queries under `settings`, pooled."""
    scores, right = [], []
    for c in np.asarray(gallery.classes)[which]:
        cos, cand, candidates = method.candidates(gallery.features, method.matrix[c["row"]], [(c["row"], 1.0)])
        scores.append(rerank(candidates, settings))
        right.append(gallery.right(c["row"])[cand])
    return np.concatenate(scores), np.concatenate(right)


def threshold_for(scores: np.ndarray, right: np.ndarray, precision: float = PRECISION) -> float:
    """The lowest score such that the results at or above it are right at least `precision` of the time
    (the largest such set of results); above every score when no set is."""
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(hits >= precision)
    return float(scores[order][ok[-1]]) if len(ok) else float(scores.max()) + 1e-6


def precision_above(scores: np.ndarray, right: np.ndarray, threshold: float) -> tuple[float, int]:
    """(fraction right, count) of the results at or above a threshold."""
    keep = scores >= threshold
    return (float(right[keep].mean()) if keep.any() else float("nan")), int(keep.sum())


def page_threshold(gallery: Gallery, method: Method, cv: dict) -> dict:
    """PAGE_THRESHOLD by the same cross-validation: chosen on two folds' classes (under those folds'
    setting), its precision measured on the third; and the one chosen on all classes."""
    fold, held = cv["fold"], []
    for f, settings in enumerate(cv["fold_settings"]):
        theta = threshold_for(*pooled_results(gallery, method, settings, fold != f))
        held.append((theta, *precision_above(*pooled_results(gallery, method, settings, fold == f), theta)))
    every = threshold_for(*pooled_results(gallery, method, cv["settings"], np.ones(len(fold), dtype=bool)))
    return {"threshold": every, "folds": held, "precision": PRECISION}
