"""`Engine`: the one API that the CLI, the UI and the tests use."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.data.images import ImageError, decode
from nounlens.data.limits import check_k
from nounlens.data.paths import default_catalogue
from nounlens.data.wordnet import load_wordnet
from nounlens.indexer.catalogue import Catalogue, Record
from nounlens.indexer.evidence import upgrade
from nounlens.indexer.faiss_choose import parse_bytes, summary_line
from nounlens.indexer.faiss_sync import load_vectors
from nounlens.indexer.manifest import models_unknown
from nounlens.indexer.pipeline import Summary, index_paths, reembed
from nounlens.models.embed import DEFAULT_HEAD, ModelStack
from nounlens.models.photo_evidence import TOP_NOUNS
from nounlens.search.maps import PhotoMap, noun_neighbourhood, photo_map
from nounlens.search.photos import DISPLAY_SIDE, display_jpeg
from nounlens.search.query import QueryEncoder, Resolved
from nounlens.search.ranking import NEIGHBOUR_POOL, RERANK, Candidates, ClassScorer, look_alikes, rerank, smooth
from nounlens.search.restyle.restyler import Restyled, Restyler
from nounlens.search.stored import class_probs, result_nouns, top_chips
from nounlens.search.suggest import Suggestion, suggest
from nounlens.search.upscale import Upscaler, encode, thumbnail_of_path


@dataclass
class Result:
    id: int
    path: str
    score: float
    nouns: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"id": self.id, "path": self.path, "score": round(self.score, 6), "nouns": self.nouns}


class Engine:
    """A catalogue plus the models it was embedded with. Searches see a consistent snapshot and pick
    up new photos when the catalogue's generation moves."""

    def __init__(self, catalogue: Catalogue, models: ModelStack, hierarchy: bool = True, feedback: bool = True):
        self.catalogue = catalogue
        self.models = models
        self.hierarchy = hierarchy  # hierarchy-aware search and labels (search.ranking); off: plain cosine
        self.feedback = feedback  # search and labels helped by look-alike photos (search.ranking)
        self.stored = True  # read each photo's stored top nouns and classes (off: compute them, the old path)
        self.wordnet = load_wordnet()
        self._index = None
        self._upscalers: dict = {}

    @classmethod
    def open(cls, catalogue: str | Path | None = None, encoder: str | None = None, vectors: str | None = None,
             create: bool = False, runtime: str = "onnx", writable: bool = False, head: str | None = None,
             hierarchy: bool = True, feedback: bool = True) -> Engine:
        """Open a catalogue. Its manifest names the text encoder and the image head ("conse", "devise" or a
        head file); asking for others is an error unless `create` (indexing), where a fresh catalogue takes
        the ones asked for. `writable` opens an existing catalogue for searching and indexing both (the UI).
        `hierarchy=False` ranks and labels by the plain text-space cosine; `feedback=False` leaves out the
        look-alike photos (pseudo-relevance feedback in search, neighbour smoothing in labels)."""
        cat = Catalogue.open(catalogue or default_catalogue(), create=create, readonly=not (create or writable))
        recorded = cat.manifest.get("models")
        if recorded:
            want = encoder or recorded["text"]["name"]
            want_base = "glove" if want.startswith("glove") else want  # "glove:FILE" needs --vectors FILE again
            want_head = head or recorded.get("embed", {}).get("head") or "conse"
            models = ModelStack(recorded["backbone"]["name"], want_base, vectors=vectors, head=want_head,
                                runtime=runtime)
            if not create:
                try:
                    check_models(cat, recorded, models)
                except NounlensError:
                    cat.close()  # or the failed open would hold the catalogue open for this process
                    raise
        elif len(cat) and not create:  # photos, and the manifest that named their models was lost
            cat.close()
            raise NounlensError(models_unknown(cat.path))
        else:
            models = ModelStack(text=encoder or "minilm", vectors=vectors, head=head or DEFAULT_HEAD, runtime=runtime)
        if recorded and writable and not create:
            upgrade(cat, models)
        return cls(cat, models, hierarchy, feedback)

    # ---- indexing ------------------------------------------------------------------------------
    def index(self, paths, workers: int | None = None, batch_size: int = 32, progress: bool = True,
              reembed_first: bool = False, on_progress: Callable[[int, int], None] | None = None,
              memory_budget: int | str | None = None, wait: bool = True) -> Summary:
        """Index photos; `memory_budget` (bytes or '2GB') bounds the FAISS index, which is chosen to fit.
        One writer at a time: while another holds the catalogue this waits, or with `wait=False` fails."""
        if memory_budget is not None:
            try:
                memory_budget = parse_bytes(memory_budget)
            except ValueError as e:
                raise NounlensError(str(e)) from None
        recorded = self.catalogue.manifest.get("models")
        if recorded and not reembed_first:
            check_models(self.catalogue, recorded, self.models)
        if reembed_first and (recorded or len(self.catalogue)):
            reembed(self.catalogue, self.models, wait=wait)
        summary = index_paths(self.catalogue, paths, self.models, workers, batch_size, progress,
                              on_progress=on_progress, memory_budget=memory_budget, wait=wait)
        self._index = None
        return summary

    def reembed(self, wait: bool = True) -> int:
        self._index = None
        return reembed(self.catalogue, self.models, wait=wait)

    # ---- look-ups ------------------------------------------------------------------------------
    @property
    def query_encoder(self) -> QueryEncoder:
        return QueryEncoder(self.wordnet, self.models.nouns, self.models.text)

    def vector_index(self):
        """FAISS at the current generation (reloaded when an indexer has written since)."""
        if self._index is None or self._index.generation != self.catalogue.generation():
            self._index = load_vectors(self.catalogue, save=False, current=self._index)  # catches up in place
        return self._index

    @functools.cached_property
    def scorer(self) -> ClassScorer:
        return ClassScorer(self.models.nouns, self.wordnet)

    def search(self, query: str, k: int = 20, hierarchy: bool | None = None,
               feedback: bool | None = None) -> list[Result]:
        """Photos for a query. By default the text-space index proposes RERANK candidates, which are
        re-scored from their class probabilities and then by how much they look like the best of them
        (search.ranking), all from stored features: no photo is read. `k`: 1 to MAX_K (data.limits); more
        than the catalogue holds gives them all."""
        k = self.photo_k(k)
        vec, resolved = self.query_encoder.encode(query)
        hierarchy = self.hierarchy if hierarchy is None else hierarchy
        feedback = self.feedback if feedback is None else feedback
        if not (hierarchy or feedback):
            return self.search_vector(vec, k, hierarchy=False)
        _, ids = self.vector_index().search(vec[None], max(k, RERANK))
        found, features = self.catalogue.features([int(i) for i in ids[0] if i >= 0])
        if not len(found):
            return []
        vid, vecs = self.catalogue.vectors(found)
        if len(vid) != len(found):  # an indexer removed some between the two reads
            keep = np.isin(found, vid)
            found, features = found[keep], features[keep]
        probs = class_probs(self.catalogue, self.class_probs, found, features, self.stored) if hierarchy else None
        candidates = Candidates.of(vecs @ vec, features, vec, [(r.row, r.term.weight) for r in resolved],
                                   self.scorer if hierarchy else None, probs)
        scores = rerank(candidates, feedback=feedback)
        best = np.argsort(-scores, kind="stable")[:k]
        return self._results([(int(found[j]), float(scores[j])) for j in best], probs[best] if hierarchy else None)

    def explain(self, query: str) -> list[dict]:
        """How each term of a query was read: which noun, which sense, or free text."""
        _, resolved = self.query_encoder.encode(query)
        return [r.describe(self.wordnet) for r in resolved]

    def resolve(self, query: str) -> tuple[np.ndarray, list[Resolved]]:
        return self.query_encoder.encode(query)

    def search_vector(self, vec: np.ndarray, k: int = 20, exclude: set[int] = frozenset(),
                      hierarchy: bool | None = None) -> list[Result]:
        """Nearest photos to a text-space vector (photo -> photos, and the plain cosine search)."""
        k = self.photo_k(k)
        index = self.vector_index()
        scores, ids = index.search(vec[None], k + len(exclude))
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True)
                 if i >= 0 and int(i) not in exclude][:k]
        probs = None
        if pairs and (self.hierarchy if hierarchy is None else hierarchy):
            probs = class_probs(self.catalogue, self.class_probs, [i for i, _ in pairs], use=self.stored)
        return self._results(pairs, probs)

    def photo_k(self, k: int) -> int:
        """A photo query's k checked (1 to MAX_K, else one line) and cut to the catalogue's size, so a
        small catalogue asked for 20 gives all it has."""
        return min(check_k(k), max(len(self.catalogue), 1))

    def _results(self, pairs: list[tuple[int, float]], probs: np.ndarray | None) -> list[Result]:
        """Records and top nouns for (id, score) pairs; `probs` (the pairs' class probabilities) makes
        the nouns hierarchy-aware, and then they are the ones stored at index time (search.stored)."""
        ids = [i for i, _ in pairs]
        records = self.catalogue.records(ids)
        tops = result_nouns(self.catalogue, self.wordnet, ids, probs,
                            lambda vecs, p: self.top_nouns(vecs, TOP_NOUNS, p), self.stored)
        return [Result(i, rec.path, s, nouns) for (i, s), rec, nouns in zip(pairs, records, tops, strict=True)
                if rec is not None and nouns is not None]

    def class_probs(self, features: np.ndarray) -> np.ndarray:
        """ImageNet-1k probabilities from stored features (the classifier alone, no photo read)."""
        return self.models.backbone.class_probs(np.asarray(features, dtype=np.float32))

    def noun_scores(self, vecs: np.ndarray, probs: np.ndarray | None = None) -> np.ndarray:
        """(photos, nouns) scores: by cosine, or hierarchy-aware when the class `probs` are given."""
        if probs is not None:
            return self.scorer.label_scores(probs, vecs)
        scores = np.asarray(vecs, dtype=np.float32) @ self.models.nouns.matrix.T
        scores[:, ~self.models.nouns.covered] = -np.inf
        return scores

    def top_nouns(self, vecs: np.ndarray, k: int, probs: np.ndarray | None = None,
                  scores: np.ndarray | None = None) -> list[list[dict]]:
        """The k best nouns per photo (from `noun_scores`, unless the scores are given)."""
        scores = self.noun_scores(vecs, probs) if scores is None else scores
        return top_chips(self.wordnet, scores, k)

    def photo_labels(self, vec: np.ndarray, feats: np.ndarray, own: int | None, k: int,
                     hierarchy: bool | None = None, feedback: bool | None = None) -> list[dict]:
        """The k best nouns for one photo (its vector and features; `own`: its catalogue id, if any). With
        feedback, its scores are averaged with those of its look-alikes among the NEIGHBOUR_POOL photos
        nearest it in the text space (search.ranking)."""
        hierarchy = self.hierarchy if hierarchy is None else hierarchy
        feedback = self.feedback if feedback is None else feedback
        vecs, feats = vec[None], np.asarray(feats, dtype=np.float32)[None]
        weights = np.zeros(0, dtype=np.float32)
        if feedback and len(self.catalogue):
            _, ids = self.vector_index().search(vec[None], NEIGHBOUR_POOL + 1)
            pool, pool_feats = self.catalogue.features([int(i) for i in ids[0] if i >= 0 and int(i) != own])
            pos, weights = look_alikes(feats[0], pool_feats[:NEIGHBOUR_POOL])
            pos, weights = pos[weights > 0], weights[weights > 0]
            found, their_vecs = self.catalogue.vectors(pool[pos])
            keep = np.isin(pool[pos], found)  # an indexer may have removed some since
            if keep.any():
                vecs = np.vstack([vecs, their_vecs])
                feats = np.vstack([feats, pool_feats[pos[keep]].astype(np.float32)])
            weights = weights[keep]
        scores = self.noun_scores(vecs, self.class_probs(feats) if hierarchy else None)
        own_scores = smooth(scores[0], scores[1:], weights)
        return self.top_nouns(vecs[:1], k, scores=own_scores[None])[0]

    def image_vector(self, image: str | Path | bytes) -> tuple[np.ndarray, int | None]:
        """A photo's unit vector: the stored one if the path is in the catalogue, else embedded now."""
        vec, _, own = self.image_embedding(image)
        return vec, own

    def image_embedding(self, image: str | Path | bytes) -> tuple[np.ndarray, np.ndarray, int | None]:
        """(unit vector, backbone features, catalogue id or None): stored if the path is in the
        catalogue, else computed now."""
        if isinstance(image, str | Path):
            path = str(Path(image).expanduser().absolute())
            i = self.catalogue.id_for_path(path)
            if i is not None:
                _, vecs = self.catalogue.vectors([i])
                _, feats = self.catalogue.features([i])
                if len(vecs) and len(feats):
                    return vecs[0], feats[0], i
            if not Path(path).exists():
                raise NounlensError(f"no such photo: {image}")
        try:
            decoded = decode(image if isinstance(image, bytes) else str(image), self.models.backbone.size)
        except ImageError as e:
            raise NounlensError(f"cannot use {'the uploaded image' if isinstance(image, bytes) else image}: {e}") \
                from None
        feats, _, vecs = self.models.embed_pixels(decoded.pixels[None])
        return vecs[0], feats[0], None

    def similar(self, image: str | Path | bytes, k: int = 20) -> list[Result]:
        k = self.photo_k(k)
        vec, own = self.image_vector(image)
        return self.search_vector(vec, k, exclude={own} if own is not None else set())

    def label(self, image: str | Path | bytes, k: int = 5, hierarchy: bool | None = None,
              feedback: bool | None = None) -> list[dict]:
        """What a photo shows: the k best WordNet nouns."""
        k = check_k(k)
        vec, feats, own = self.image_embedding(image)
        return self.photo_labels(vec, feats, own, k, hierarchy, feedback)

    def nouns(self, word: str, k: int = 10) -> list[dict]:
        """Nouns nearest to a word in the text space (the word's own sense first)."""
        k = check_k(k)
        vec, _ = self.query_encoder.encode(word)
        return self.top_nouns(vec[None], k)[0]

    def thumbnail(self, i: int) -> bytes | None:
        return self.catalogue.thumb(i)

    def upscaler(self, weights: str | Path | None = None) -> Upscaler:
        """The x4 thumbnail upscaler (one per weights file, so its cache lives as long as the engine)."""
        key = str(weights) if weights else ""
        if key not in self._upscalers:
            self._upscalers[key] = Upscaler(weights)
        return self._upscalers[key]

    def sr_thumbnails(self, ids: list[int], fmt: str = "JPEG") -> list[bytes | None]:
        """A results page's thumbnails, x4 by super-resolution in one batch, cached; bicubic with a
        warning when the network cannot run. None for an id the catalogue lacks."""
        thumbs = [self.catalogue.thumb(int(i)) for i in ids]
        found = [t for t in thumbs if t is not None]
        ups = iter(self.upscaler().pixels(found)) if found else iter(())
        return [encode(next(ups), fmt) if t is not None else None for t in thumbs]

    def sr_thumbnail(self, image: int | str | Path, fmt: str = "JPEG", weights: str | Path | None = None) -> bytes:
        """One thumbnail x4, for a result id or a photo path; a path the catalogue lacks is made into a
        thumbnail exactly as the indexer would, then upscaled."""
        if isinstance(image, int):
            thumb = self.catalogue.thumb(image)
            if thumb is None:
                raise NounlensError(f"no photo with id {image} in {self.catalogue.path}")
        else:
            path = Path(image).expanduser().absolute()
            i = self.catalogue.id_for_path(str(path))
            thumb = self.catalogue.thumb(i) if i is not None else None
            if thumb is None:
                if not path.exists():
                    raise NounlensError(f"no such photo: {image}")
                thumb = thumbnail_of_path(path)
        return encode(self.upscaler(weights).pixels([thumb])[0], fmt)

    @functools.cached_property
    def restyler(self) -> Restyler:
        return Restyler()

    def stylize(self, image: int | str | Path | bytes, style: str | Path | bytes | None = None,
                model: str | Path | None = None, **options) -> Restyled:
        """Restyle a result (by id) or any photo: with a painting `style`, by optimising the pixels
        (options: cfg, mask, style2, progress; see search.restyle); without, by one pass of a trained
        stylizer (`model`: the shipped "irises" by default; options: size, colour, mask)."""
        if isinstance(image, int):
            rec = self.catalogue.record(image)
            if rec is None:
                raise NounlensError(f"no photo with id {image} in {self.catalogue.path}")
            image = rec.path
        if style is not None:
            return self.restyler.optimise(image, style, **options)
        return self.restyler.fast(image, model, **options)

    # ---- browsing (the UI) -----------------------------------------------------------------------
    def suggest(self, text: str, k: int = 8) -> list[Suggestion]:
        """Noun senses for the term being typed at the end of `text`, each with its gloss and a query."""
        return suggest(self.query_encoder, text, k)

    def record(self, i: int) -> Record | None:
        return self.catalogue.record(i)

    def photo(self, i: int, max_side: int = DISPLAY_SIDE) -> bytes:
        """A catalogue photo as screen-sized JPEG; ids only, so nothing outside the catalogue is served."""
        rec = self.catalogue.record(int(i))
        if rec is None:
            raise NounlensError(f"photo {i} is not in the catalogue")
        return display_jpeg(rec.path, max_side)

    def photo_nouns(self, i: int, k: int = 5, hierarchy: bool | None = None,
                    feedback: bool | None = None) -> list[dict]:
        """"What is this?" for a catalogue photo, from its stored vector."""
        k = check_k(k)
        _, vecs = self.catalogue.vectors([int(i)])
        _, feats = self.catalogue.features([int(i)])
        if not len(vecs) or not len(feats):
            raise NounlensError(f"photo {i} is not in the catalogue")
        return self.photo_labels(vecs[0], feats[0], int(i), k, hierarchy, feedback)

    def similar_to(self, i: int, k: int = 20) -> list[Result]:
        k = self.photo_k(k)
        _, vecs = self.catalogue.vectors([int(i)])
        if not len(vecs):
            raise NounlensError(f"photo {i} is not in the catalogue")
        return self.search_vector(vecs[0], k, exclude={int(i)})

    def photo_map(self) -> PhotoMap:
        """Every photo in 2-D, cached in the catalogue per generation (UMAP; minutes never, seconds once)."""
        return photo_map(self.catalogue, self.models.nouns)

    def noun_map(self, word: str, k: int = 20, hops: int = 2) -> list[dict]:
        """A noun with its WordNet neighbours and its nearest nouns in the text space, placed in 2-D."""
        _, resolved = self.query_encoder.encode(word)
        if len(resolved) != 1 or resolved[0].row is None:
            raise NounlensError(f"{word!r} is not one WordNet noun; the noun map needs one, such as 'dog'")
        return noun_neighbourhood(self.wordnet, self.models.nouns, resolved[0].row, k_text=k, hops=hops,
                                  k_wordnet=k)

    def info(self) -> dict:
        return self.info_of(self.catalogue)

    @staticmethod
    def info_of(cat: Catalogue) -> dict:
        """Size, generation and models of a catalogue, without loading any model."""
        m = cat.manifest
        return {"catalogue": str(cat.path), "photos": len(cat), "generation": cat.generation(),
                "disk_bytes": cat.disk_bytes(), "last_indexed": m.get("last_indexed"), "models": m.get("models"),
                "faiss": m.get("faiss"), "faiss_summary": summary_line(m.get("faiss"))}


def check_models(cat: Catalogue, recorded: dict, models: ModelStack) -> None:
    want = models.describe()
    for part in ("backbone", "text", "embed"):
        a, b = recorded.get(part, {}), want[part]
        if a.get("name") != b["name"] or a.get("digest", b.get("digest")) != b.get("digest"):
            raise NounlensError(
                f"catalogue {cat.path} was embedded with {part} {a.get('name')!r}, not {b['name']!r}: "
                f"re-project it from stored features with "
                f"`nounlens index --reembed --encoder {models.text_name} --head {models.head}`")

