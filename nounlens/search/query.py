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
WEIGHT = re.compile(r"^\s*((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*\*\s*(.+)$")
MAX_WEIGHT = 1000.0  # beyond this a weight only overflows float32 sums; it cannot mean anything more
# A hint that no gloss, lemma or hypernym mentions picks a sense by meaning only when one sense is clearly
# nearest: cosine at least SENSE_MIN, and SENSE_MARGIN ahead of the next ("crane%machine" is 0.19 and 0.06
# ahead; "crane%origami" 0.21 but 0.003 ahead, "crane%banana" 0.05: those are errors that list the senses).
SENSE_MIN, SENSE_MARGIN = 0.15, 0.03
SENSES_LISTED = 8


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
            weight, part = _weight(m.group(1), query), m.group(2).strip()
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


def _weight(text: str, query: str) -> float:
    weight = float(text)
    if not abs(weight) <= MAX_WEIGHT:  # inf too
        raise NounlensError(f"weight {text} in {query!r} is out of range: a weight is a number from "
                            f"-{MAX_WEIGHT:,.0f} to {MAX_WEIGHT:,.0f}")
    return weight


def sense_hints(wordnet: WordNet, word: str, row: int) -> list[str]:
    """Words that may tell sense `row` of `word` from its others, in the order to try them: its hypernyms'
    first lemmas, its other lemmas, its grandparents' (the error's list and the page's suggestions both)."""
    wn = wordnet
    hints = [wn.lemmas[h][0] for h in wn.hypernyms[row]]
    hints += [x for x in wn.lemmas[row] if lemma_key(x) != lemma_key(word)]
    hints += [wn.lemmas[g][0] for h in wn.hypernyms[row] for g in wn.hypernyms[h]]
    return [h.replace("_", " ") for h in hints]


def _short(gloss: str, width: int = 40) -> str:
    """A gloss's first clause without its asides, cut at a word to about `width` characters."""
    text = gloss.split(";")[0].split(" (")[0]
    return text if len(text) <= width else text[:width].rsplit(" ", 1)[0] + "…"


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

    def literal_sense(self, rows: list[int], hint: str) -> int | None:
        """The first sense whose lemmas, hypernyms' lemmas or gloss mention the hint, if any."""
        wn, h = self.wordnet, lemma_key(hint)
        for row in rows:
            words = {lemma_key(x) for x in wn.lemmas[row]}
            for a in wn.ancestors(row):
                words.update(lemma_key(x) for x in wn.lemmas[a])
            if h in words or re.search(rf"\b{re.escape(hint.lower())}", wn.glosses[row].lower()):
                return row
        return None

    def pick_sense(self, rows: list[int], hint: str, word: str = "") -> int:
        """The sense the hint mentions (`literal_sense`); else the one clearly nearest to it in meaning
        (SENSE_MIN, SENSE_MARGIN); else an error that lists each sense with a hint that picks it."""
        row = self.literal_sense(rows, hint)
        if row is not None:
            return row
        if self.encoder.covers(hint):
            sims = np.asarray(self.nouns.matrix[rows], dtype=np.float32) @ self.encoder.encode([hint])[0]
            sims[~self.nouns.covered[rows]] = -np.inf
            best = np.sort(sims)[::-1]
            if best[0] >= SENSE_MIN and (len(best) == 1 or best[0] - best[1] >= SENSE_MARGIN):
                return rows[int(np.argmax(sims))]
        raise NounlensError(self.no_sense_message(word or hint, hint))

    def no_sense_message(self, word: str, hint: str) -> str:
        """`crane%xyz: no sense of "crane" matches "xyz"; try crane%bird (wading bird), ...` (one line)."""
        senses = self.wordnet.senses_of(word)
        tries = [self.sense_hint(word, row) for row in senses[:SENSES_LISTED]]
        more = f", … ({len(senses) - SENSES_LISTED} more)" if len(senses) > SENSES_LISTED else ""
        return f'{word}%{hint}: no sense of "{word}" matches "{hint}"; try {", ".join(tries)}{more}'

    def sense_hint(self, word: str, row: int) -> str:
        """`word%hint (what it is)` for one sense: the first short hint that picks exactly it (its
        hypernym's head word, the hypernym, its other lemmas, its grandparents), else its wnid."""
        wn, rows = self.wordnet, self.wordnet.lookup(word)
        parents = [wn.lemmas[h][0].replace("_", " ") for h in wn.hypernyms[row]]
        what = parents[0] if parents else _short(wn.glosses[row])
        for hint in [p.split(" ")[-1] for p in parents] + sense_hints(wn, word, row):
            if lemma_key(hint) != lemma_key(word) and self.literal_sense(rows, hint) == row:
                if hint == what:
                    what = _short(wn.glosses[row])
                return f"{word}%{hint} ({what})"
        return f"{wn.wnids[row]} ({what})"

    def resolve(self, term: Term) -> Resolved:
        text = term.text
        if WNID.match(text):
            row = self.wordnet.row_of.get(text)
            if row is None:
                raise NounlensError(f"unknown wnid {text}: not a WordNet 3.0 noun synset")
            return Resolved(term, self.noun_vector(row), row, "wnid")
        rows = self.wordnet.lookup(text)
        if rows and term.hint:
            row = self.pick_sense(rows, term.hint, text)
            return Resolved(term, self.noun_vector(row), row, "sense")
        if term.hint:
            raise NounlensError(f"'{text}' is not a WordNet noun, so it has no senses to pick with %{term.hint}")
        if rows:
            row = self.wordnet.default_sense(text)
            return Resolved(term, self.noun_vector(row), row, "noun")
        vec = self.encoder.encode([text])[0] if self.encoder.covers(text) else np.zeros(1)
        if not vec.any():  # no word of it known: MiniLM would still map its word pieces somewhere
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
