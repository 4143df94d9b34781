"""Zero-shot quality, measured on ../shared/data: seen-class labelling, zero-shot labelling and
text -> photo retrieval, for any image embedder (ConSE, a DeViSE head) and text encoder.

Pure measurement: photos go through data.images and the Backbone exactly as the indexer sees them
(features cached under the nounlens cache), and every number comes from trainer.quality.metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nounlens.data.datasets import Labelled, load_labelled, read_classes
from nounlens.data.errors import NounlensError
from nounlens.data.wordnet import WordNet, imagenet_rows, imagenet_wnids, load_wordnet
from nounlens.models.features import extract_features
from nounlens.models.text import NounVectors
from nounlens.search.ranking import (
    DEFAULT,
    NEIGHBOUR_POOL,
    RERANK,
    Candidates,
    ClassScorer,
    Ranking,
    look_alikes,
    rerank,
    smooth,
)
from nounlens.trainer.quality import metrics

SEEN_KS = (1, 2, 5, 10, 20)
ZS_KS = (1, 2, 5, 10, 20)
HP_KS = (1, 2, 5, 10, 20)
RETRIEVAL_KS = (5, 10)
GROUPS = ("strict", "hypernym", "imagenet")
GROUP_TITLES = {"strict": "45 strict zero-shot", "hypernym": "15 hypernyms of ImageNet-1k",
                "imagenet": "31 ImageNet-1k"}
CHUNK = 256  # photos scored against all 82,115 nouns at once


@dataclass
class Gallery:
    """The Caltech zero-shot gallery: photos, their WordNet rows, and each class's group."""

    photos: list[Labelled]
    rows: np.ndarray  # (N,) WordNet row of each photo's label
    classes: list[dict]  # classes.csv rows, each with "row" and "group" added
    features: np.ndarray  # (N, 1280) float32
    above: dict[int, set[int]] = field(default_factory=dict)  # class row -> it and its WordNet ancestors

    def class_rows(self, group: str | None = None) -> list[int]:
        return [c["row"] for c in self.classes if group is None or c["group"] == group]

    def right(self, targets: int | set[int]) -> np.ndarray:
        """(N,) bool: photos that are right for a query meant to find `targets` (rows): labelled with one
        of them or with a noun under one in WordNet (a Windsor chair is right for "chair")."""
        targets = {targets} if isinstance(targets, int | np.integer) else set(targets)
        rows = [r for r in {c["row"] for c in self.classes} if self.above.get(r, {r}) & targets]
        return np.isin(self.rows, rows)


@dataclass
class SeenSet:
    name: str
    photos: list[Labelled]
    labels: np.ndarray  # (N,) ImageNet-1k class index
    features: np.ndarray


@dataclass
class EvalData:
    gallery: Gallery
    seen: list[SeenSet] = field(default_factory=list)


def class_group(row: dict) -> str:
    if row["in_imagenet1k"] == "1":
        return "imagenet"
    return "hypernym" if row["imagenet1k_descendants"].strip() else "strict"


def _limit(items: list[Labelled], per_class: int | None) -> list[Labelled]:
    """The first `per_class` photos of each class (a small slice for tests and smoke runs)."""
    if per_class is None:
        return items
    seen: dict[str, int] = {}
    out = []
    for it in items:
        if seen.get(it.wnid, 0) < per_class:
            seen[it.wnid] = seen.get(it.wnid, 0) + 1
            out.append(it)
    return out


def load_gallery(root: Path, wordnet: WordNet, backbone, per_class: int | None = None,
                 progress: bool = True) -> Gallery:
    folder = root / "zeroshot-caltech101"
    if not (folder / "classes.csv").exists():
        raise NounlensError(f"no Caltech zero-shot gallery in {folder} (expected classes.csv and labels.csv)")
    classes = read_classes(folder / "classes.csv")
    for c in classes:
        c["row"], c["group"] = wordnet.row_of[c["wnid"]], class_group(c)
    photos = _limit(load_labelled(folder), per_class)
    fs = extract_features([p.path for p in photos], backbone, progress=progress, desc="caltech gallery")
    rows = np.array([wordnet.row_of[p.wnid] for p in photos])
    above = {c["row"]: wordnet.ancestors(c["row"]) | {c["row"]} for c in classes}
    return Gallery(photos, rows, classes, fs.center(), above)


def load_seen(root: Path, backbone, per_class: int | None = None, progress: bool = True,
              limit: int | None = None) -> list[SeenSet]:
    index = {w: i for i, w in enumerate(imagenet_wnids())}
    sets = []
    for name, folder, split in (("imagenet-sample", root / "imagenet-sample", None),
                                ("tiny-imagenet val", root / "tiny-imagenet-subset", "val")):
        if not folder.is_dir():
            continue
        photos = _limit(load_labelled(folder, split), per_class)
        if limit is not None and len(photos) > limit:  # evenly spaced, so the slice spans the classes
            photos = [photos[i] for i in np.linspace(0, len(photos) - 1, limit).round().astype(int)]
        fs = extract_features([p.path for p in photos], backbone, progress=progress, desc=name)
        sets.append(SeenSet(name, photos, np.array([index[p.wnid] for p in photos]), fs.center()))
    return sets


def load_eval_data(root: str | Path, backbone, per_class: int | None = None, progress: bool = True,
                   seen_limit: int | None = None) -> EvalData:
    """Everything the evaluation measures on; `per_class` and `seen_limit` cut a small slice (CI)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise NounlensError(f"no evaluation data at {root}: pass --data PATH (the shared/data folder)")
    wordnet = load_wordnet()
    gallery = load_gallery(root, wordnet, backbone, per_class, progress)
    return EvalData(gallery, load_seen(root, backbone, per_class, progress, seen_limit))


# ---- the three parts ----------------------------------------------------------------------------
Embed = Callable[[np.ndarray], np.ndarray]  # float32 features (N, 1280) -> unit vectors (N, d)


class Method:
    """How a method scores photos against nouns: the cosine of embedded vectors, or, with a `scorer`,
    hierarchy-aware through the ImageNet classes; with `feedback`, helped by the rest of the collection
    (search.ranking, under `settings`). Each exactly as `Engine.search` and `Engine.label` do."""

    def __init__(self, embed: Embed, nouns: NounVectors, backbone, scorer: ClassScorer | None = None,
                 feedback: bool = False, settings: Ranking = DEFAULT):
        self.embed, self.nouns, self.backbone, self.scorer, self.feedback = embed, nouns, backbone, scorer, feedback
        self.settings = settings
        self.matrix = np.asarray(nouns.matrix, dtype=np.float32)
        self._embedded: tuple[np.ndarray, np.ndarray] | None = None

    def vectors(self, features: np.ndarray) -> np.ndarray:
        """The photos' text-space vectors, embedded once per feature array (every query reuses them)."""
        if self._embedded is None or self._embedded[0] is not features:
            self._embedded = (features, self.embed(features))
        return self._embedded[1]

    def label(self, features: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """(N, nouns) scores of every noun, or of `rows`, for each photo alone; uncovered nouns score -inf."""
        out = []
        for s in range(0, len(features), CHUNK):
            f = features[s:s + CHUNK]
            if self.scorer is not None:
                out.append(self.scorer.label_scores(self.probs(f), self.embed(f), rows))
                continue
            r = np.arange(len(self.matrix)) if rows is None else np.asarray(rows)
            scores = self.embed(f) @ self.matrix[r].T
            scores[:, ~self.nouns.covered[r]] = -np.inf
            out.append(scores)
        return np.concatenate(out) if out else np.zeros((0, len(self.matrix) if rows is None else len(rows)))

    def label_in(self, collection: np.ndarray, which: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Scores for the photos `which` of a collection (the features of every photo in a catalogue),
        each labelled as the engine labels a catalogue photo: with feedback, averaged with its
        look-alikes among the NEIGHBOUR_POOL photos nearest it in the text space (itself excluded)."""
        which = np.asarray(which)
        own = self.label(collection[which], rows)
        if not self.feedback:
            return own
        vecs = self.embed(collection)
        picks = []
        for i in which:
            cos = vecs @ vecs[i]
            cos[i] = -np.inf
            pool = np.argsort(-cos, kind="stable")[:NEIGHBOUR_POOL]
            pos, w = look_alikes(collection[i], collection[pool])
            picks.append((pool[pos][w > 0], w[w > 0]))
        need = np.unique(np.concatenate([p for p, _ in picks] + [np.zeros(0, dtype=int)])).astype(int)
        theirs = self.label(collection[need], rows)
        at = {int(r): j for j, r in enumerate(need)}
        return np.stack([smooth(own[j], theirs[[at[int(p)] for p in pos]], w)
                         for j, (pos, w) in enumerate(picks)]) if len(which) else own

    def candidates(self, features: np.ndarray, vec: np.ndarray,
                   terms: list[tuple[int | None, float]]) -> tuple[np.ndarray, np.ndarray, Candidates]:
        """A query's cosine to every photo, and the top RERANK of them as re-ranking sees them."""
        cos = self.vectors(features) @ np.asarray(vec, dtype=np.float32)
        cand = np.argsort(-cos, kind="stable")[:RERANK]
        probs = self.probs(features[cand]) if self.scorer is not None else None
        return cos, cand, Candidates.of(cos[cand], features[cand], vec, terms, self.scorer, probs)

    def rank(self, features: np.ndarray, row: int) -> np.ndarray:
        """(N,) scores of the photos for the noun `row` as a query (see `rank_query`)."""
        return self.rank_query(features, self.matrix[row], [(row, 1.0)])

    def rank_query(self, features: np.ndarray, vec: np.ndarray, terms: list[tuple[int | None, float]]) -> np.ndarray:
        """(N,) scores of the photos for a query; with a scorer or feedback, the top RERANK by cosine are
        re-scored by search.ranking.rerank and everything else stays below them, as in the engine."""
        if self.scorer is None and not self.feedback:
            return self.vectors(features) @ np.asarray(vec, dtype=np.float32)
        cos, cand, candidates = self.candidates(features, vec, terms)
        return spread(cos, cand, rerank(candidates, self.settings, self.feedback))

    def probs(self, features: np.ndarray) -> np.ndarray:
        return self.backbone.class_probs(features)


def spread(cos: np.ndarray, cand: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Every photo's score: the candidates' re-ranked scores, the rest below all of them."""
    out = cos - 10.0
    out[cand] = scores
    return out


def seen_classes(seen: SeenSet, method: Method, logits: np.ndarray) -> dict:
    """Flat hit@k over the 1,000 ImageNet-1k labels, and the backbone softmax's own top-k beside it."""
    scores = method.label_in(seen.features, np.arange(len(seen.labels)), imagenet_rows())
    return {"photos": len(seen.labels),
            "hit": metrics.hit_at_k(metrics.true_ranks(scores, seen.labels), SEEN_KS),
            "softmax_hit": metrics.hit_at_k(metrics.true_ranks(logits, seen.labels), SEEN_KS)}


def zero_shot_labelling(gallery: Gallery, method: Method, wordnet: WordNet, group: str = "strict") -> dict:
    """Label the group's photos with any of the 82,115 nouns (and with the gallery's 91 labels):
    flat hit@k, lenient hit@k (a noun within 2 hops counts), hierarchical precision@k, median rank."""
    wanted = {c["row"] for c in gallery.classes if c["group"] == group}
    idx = np.array([i for i, r in enumerate(gallery.rows) if r in wanted])
    truth = gallery.rows[idx]
    scores = method.label_in(gallery.features, idx)
    ranks, top = metrics.true_ranks(scores, truth), metrics.top_k(scores, max(ZS_KS))
    del scores
    lenient = [wordnet.within_hops(int(r), 2) for r in truth]
    labels = np.array(gallery.class_rows())
    label_scores = method.label_in(gallery.features, idx, labels)
    label_index = {int(r): i for i, r in enumerate(labels)}
    label_truth = np.array([label_index[int(r)] for r in truth])
    return {
        "photos": len(idx),
        "covered": int(method.nouns.covered[truth].sum()),
        "hit": metrics.hit_at_k(ranks, ZS_KS),
        "median_rank": float(np.median(ranks) + 1),
        "lenient_hit": metrics.hit_at_k_sets(top, lenient, ZS_KS),
        "hp": metrics.hierarchical_precision_at_k(top, truth, wordnet, HP_KS),
        "gallery_hit": metrics.hit_at_k(metrics.true_ranks(label_scores, label_truth), ZS_KS),
    }


def text_to_photo(gallery: Gallery, method: Method) -> dict:
    """Each class noun as a query over the whole gallery: precision@5/10 and mean AP per group, a photo
    right when its label is the noun or under it (Gallery.right; "map_exact": its label only)."""
    per_class = {}
    for c in gallery.classes:
        scores = method.rank(gallery.features, c["row"])
        per_class[c["wnid"]] = metrics.retrieval(gallery.right(c["row"]), scores, RETRIEVAL_KS) | {
            "ap_exact": metrics.average_precision(gallery.rows == c["row"], scores),
            "group": c["group"], "name": c["name"], "covered": bool(method.nouns.covered[c["row"]])}
    out = {}
    for group in GROUPS:
        rows = [v for v in per_class.values() if v["group"] == group]
        if rows:
            out[group] = {"classes": len(rows), "map": float(np.mean([r["ap"] for r in rows])),
                          "map_exact": float(np.mean([r["ap_exact"] for r in rows]))} | {
                f"p@{k}": float(np.mean([r[f"p@{k}"] for r in rows])) for k in RETRIEVAL_KS}
    out["per_class"] = per_class
    return out


def methods(encoder: str, backbone, nouns: NounVectors, heads: dict[str, str | Path | None],
            wordnet: WordNet) -> dict[str, Method]:
    """Name -> Method. A spec is None or "conse[-T<top>]" (ConSE), with any of "+classes" (the soft
    class kernel in search and labels), "+subtree" (and the exact subtree term in both), "+feedback"
    (look-alikes in the collection); "default" is what `Engine` does (search.ranking
    at its defaults); anything else is a DeViSE head file."""
    from nounlens.models.embed import ConSE
    from nounlens.models.heads import Head

    out: dict[str, Method] = {}
    for name, spec in heads.items():
        text = str(spec) if spec is not None else "conse"
        if text == "default" or text.startswith("conse"):
            base, *extra = text.split("+")
            top = int(base[7:]) if base.startswith("conse-T") else 10
            conse = ConSE(nouns, imagenet_rows(), top)
            if text == "default":
                scorer, feedback = ClassScorer(nouns, wordnet), True
            else:
                subtree = "subtree" in extra
                scorer = ClassScorer(nouns, wordnet, subtree=subtree, label_subtree=subtree) if (
                    {"classes", "subtree"} & set(extra)) else None
                feedback = "feedback" in extra
            out[name] = Method(lambda f, c=conse: c(f, backbone.logits_from_features(f)), nouns, backbone, scorer,
                               feedback)
        else:
            head = Head.load(spec)
            if head.meta.get("nouns_digest") != nouns.digest:
                raise NounlensError(f"head {spec} was trained for another {encoder} noun table")
            out[name] = Method(head, nouns, backbone)
    return out


def evaluate_method(data: EvalData, method: Method, wordnet: WordNet, backbone) -> dict:
    """All three parts for one method and text encoder."""
    seen = {s.name: seen_classes(s, method, backbone.logits_from_features(s.features)) for s in data.seen}
    return {"seen": seen, "zero_shot": zero_shot_labelling(data.gallery, method, wordnet),
            "text_to_photo": text_to_photo(data.gallery, method)}


def run_quality(root: str | Path, encoders: tuple[str, ...] = ("minilm", "glove"),
                heads: dict[str, dict[str, str | Path | None]] | None = None, per_class: int | None = None,
                progress: bool = True, data: EvalData | None = None, backbone=None) -> dict:
    """The whole evaluation: for each text encoder, every head in `heads[encoder]` (default: ConSE,
    and the shipped DeViSE head where there is one)."""
    from nounlens.models.backbone import Backbone
    from nounlens.models.embed import shipped_head
    from nounlens.models.heads import Head
    from nounlens.models.text import get_encoder, noun_vectors

    t0 = time.perf_counter()
    backbone = backbone or Backbone()
    wordnet = load_wordnet()
    data = data or load_eval_data(root, backbone, per_class, progress)
    runs: dict[str, dict] = {}
    trained: dict[str, dict] = {}
    for encoder in encoders:
        nouns = noun_vectors(get_encoder(encoder))
        specs = (heads or {}).get(encoder)
        if specs is None:
            specs = {"conse": None}
            if shipped_head(encoder).exists():
                specs["devise"] = shipped_head(encoder)
            specs |= {"conse+classes": "conse+classes", "conse+subtree": "conse+subtree",
                      "conse+feedback": "conse+feedback", "default": "default"}
        runs[encoder] = {}
        for name, method in methods(encoder, backbone, nouns, specs, wordnet).items():
            runs[encoder][name] = evaluate_method(data, method, wordnet, backbone)
            head = method.embed
            if isinstance(head, Head):
                trained[f"{encoder}/{name}"] = {k: v for k, v in head.meta.items() if k != "history"} | {
                    "file": head.path.name if head.path else None, "final": (head.meta.get("history") or [{}])[-1]}
    return {"data": str(Path(root).expanduser()), "backbone": backbone.name, "per_class": per_class,
            "photos": {"gallery": len(data.gallery.photos)} | {s.name: len(s.photos) for s in data.seen},
            "runs": runs, "heads": trained, "seconds": round(time.perf_counter() - t0, 1)}
