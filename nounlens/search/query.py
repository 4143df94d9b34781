"""The query language: `okapi`, `golden retriever`, `crane%bird`, `n02012849`, free text, and
weighted arithmetic such as `2*dog + beach - water`."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.data.wordnet import WordNet, lemma_key
from nounlens.models.text import NounVectors, TextEncoder, unit_rows

WNID = re.compile(r"^n\d{8}$")
# + and - are operators only at the start or after whitespace, so "t-shirt" stays one term
SPLIT = re.compile(r"(?:^|\s+)([+-])\s*")
WEIGHT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*\*\s*(.+)$")


@dataclass
class Term:
    weight: float
    text: str
    hint: str | None = None


@dataclass
class Resolved:
    term: Term
    vector: np.ndarray
    row: int | None  # WordNet noun row, or None for free text
    how: str  # "noun", "sense", "wnid" or "free text"

    def describe(self, wordnet: WordNet) -> dict:
        out = {"term": self.term.text, "weight": self.term.weight, "as": self.how}
        if self.row is not None:
            out.update(wordnet.noun(self.row).as_dict())
        return out


def parse(query: str) -> list[Term]:
    """Split a query into weighted terms; raise NounlensError on an empty or malformed query."""
    if not query or not query.strip():
        raise NounlensError("empty query: give a noun such as 'okapi', or free text")
    parts = SPLIT.split(" " + query.strip())
    terms, sign = [], 1.0
    # parts alternates text, operator, text, ...; the first text is what precedes any operator
    for j, part in enumerate(parts):
        if j % 2 == 1:
            sign = -1.0 if part == "-" else 1.0
            continue
        part = part.strip()
        if not part:
            if 0 < j < len(parts) - 1 or (j == len(parts) - 1 and len(parts) > 1):
                raise NounlensError(f"malformed query {query!r}: an operator has no term after it")
            continue
        weight = 1.0
        m = WEIGHT.match(part)
        if m:
            weight, part = float(m.group(1)), m.group(2).strip()
        if "*" in part or not re.search(r"\w", part):
            raise NounlensError(f"malformed query term {part!r} in {query!r}")
        hint = None
        if "%" in part:
            part, hint = (x.strip() for x in part.split("%", 1))
            if not part or not hint:
                raise NounlensError(f"malformed sense {part}%{hint}: write it like crane%bird")
        terms.append(Term(sign * weight, part, hint))
        sign = 1.0
    if not terms:
        raise NounlensError(f"malformed query {query!r}")
    return terms


class QueryEncoder:
    """Turns terms into vectors in the text space: nouns from the cached table, the rest encoded."""

    def __init__(self, wordnet: WordNet, nouns: NounVectors, encoder: TextEncoder):
        self.wordnet, self.nouns, self.encoder = wordnet, nouns, encoder

    def noun_vector(self, row: int) -> np.ndarray:
        if not self.nouns.covered[row]:
            name = self.wordnet.noun(row).name
            raise NounlensError(f"'{name}' ({self.wordnet.wnids[row]}) has no vector in the {self.encoder.name} "
                                "encoder, so it is not searchable with it; try --encoder minilm")
        return np.asarray(self.nouns.matrix[row], dtype=np.float32)

    def pick_sense(self, rows: list[int], hint: str) -> int:
        """The sense whose gloss, lemmas or hypernyms mention the hint; else the nearest in meaning."""
        wn, h = self.wordnet, lemma_key(hint)
        for row in rows:
            words = {lemma_key(x) for x in wn.lemmas[row]}
            for a in wn.ancestors(row):
                words.update(lemma_key(x) for x in wn.lemmas[a])
            if h in words or re.search(rf"\b{re.escape(hint.lower())}", wn.glosses[row].lower()):
                return row
        hint_vec = self.encoder.encode([hint])[0]
        if not hint_vec.any():
            raise NounlensError(f"sense hint {hint!r} matches no sense and has no vector")
        return max(rows, key=lambda r: float(np.dot(self.nouns.matrix[r], hint_vec)))

    def resolve(self, term: Term) -> Resolved:
        text = term.text
        if WNID.match(text):
            row = self.wordnet.row_of.get(text)
            if row is None:
                raise NounlensError(f"unknown wnid {text}: not a WordNet 3.0 noun synset")
            return Resolved(term, self.noun_vector(row), row, "wnid")
        rows = self.wordnet.lookup(text)
        if rows and term.hint:
            row = self.pick_sense(rows, term.hint)
            return Resolved(term, self.noun_vector(row), row, "sense")
        if term.hint:
            raise NounlensError(f"'{text}' is not a WordNet noun, so it has no senses to pick with %{term.hint}")
        if rows:
            row = self.wordnet.default_sense(text)
            return Resolved(term, self.noun_vector(row), row, "noun")
        vec = self.encoder.encode([text])[0]
        if not vec.any():
            raise NounlensError(f"unknown word {text!r}: not a WordNet noun and not in the {self.encoder.name} "
                                "vocabulary")
        return Resolved(term, vec, None, "free text")

    def encode(self, query: str) -> tuple[np.ndarray, list[Resolved]]:
        resolved = [self.resolve(t) for t in parse(query)]
        total = sum(r.term.weight * r.vector for r in resolved)
        vec = unit_rows(np.asarray(total, dtype=np.float32)[None])[0]
        if not vec.any():
            raise NounlensError(f"query {query!r} cancels out to nothing")
        return vec, resolved
