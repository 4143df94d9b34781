"""Noun suggestions for a typed prefix, each with a gloss and a query that selects exactly that sense.

The UI's search box completes the last term of a query ("engine + bo" -> "engine + boat") from all
146k lemmas of WordNet's 82,115 nouns, so "crane (wading bird)" and "crane (lifting device)" can be
told apart and picked; the query it writes back ("crane%wading bird") is the CLI's own syntax.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import asdict, dataclass

import numpy as np

from nounlens.data.wordnet import WordNet, imagenet_rows, lemma_key
from nounlens.search.query import SPLIT, WEIGHT, QueryEncoder, sense_hints

SCAN_LIMIT = 20000  # prefix matches ranked at most (a one-letter prefix matches ~15k lemmas)
# branches of things a camera can see: ranked above abstract senses ("crate" before "crash")
CONCRETE = {"animal", "artifact", "food", "plant", "object", "person", "body", "substance"}


@dataclass
class Suggestion:
    row: int
    wnid: str
    lemma: str  # the lemma that matched, as WordNet spells it ("golden retriever")
    hint: str  # a word that tells this sense from the others ("wading bird")
    gloss: str
    branch: str  # "animal", "artifact", ...
    query: str  # the whole query with the last term replaced, e.g. "engine + crane%wading bird"

    @property
    def label(self) -> str:
        return f"{self.lemma} ({self.hint})" if self.hint else self.lemma

    def as_dict(self) -> dict:
        return asdict(self) | {"label": self.label}


class LemmaIndex:
    """Every noun lemma, and every word inside a multi-word lemma, sorted for prefix look-up."""

    def __init__(self, wordnet: WordNet):
        self.wordnet = wordnet
        visual = set(imagenet_rows().tolist())
        entries = []  # (key, kind, rank, lemma, row); kind 0 = the lemma starts with the prefix, 1 = a later word
        for key, rows in wordnet.senses.items():
            counts = wordnet.counts.get(key) or [0] * len(rows)
            words = key.split("_")
            for sense, (row, count) in enumerate(zip(rows, counts, strict=True)):
                lemma = next((x for x in wordnet.lemmas[row] if lemma_key(x) == key), key).replace("_", " ")
                rank = (wordnet.branch(row) not in CONCRETE, -count, row not in visual, wordnet.instance[row], sense)
                entries.append((" ".join(words), 0, rank, lemma, row))
                for j in range(1, len(words)):
                    entries.append((" ".join(words[j:]), 1, rank, lemma, row))
        entries.sort(key=lambda e: e[0])
        self.keys = [e[0] for e in entries]
        self.entries = entries

    def complete(self, prefix: str, k: int, covered: np.ndarray | None = None) -> list[tuple[str, int]]:
        """(lemma, row) pairs for the best `k` senses whose lemma, or a word in it, starts with `prefix`."""
        p = " ".join(lemma_key(prefix).split("_"))
        if not p:
            return []
        lo = bisect.bisect_left(self.keys, p)
        hits = []
        for i in range(lo, min(lo + SCAN_LIMIT, len(self.keys))):
            key, kind, rank, lemma, row = self.entries[i]
            if not key.startswith(p):
                break
            if covered is not None and not covered[row]:
                continue
            exact = (key == p) if kind == 0 else False
            hits.append(((not exact, kind, rank[:4], len(lemma), lemma.lower(), rank[4]), lemma, row))
        hits.sort(key=lambda h: h[0])
        out, seen = [], set()
        for _, lemma, row in hits:
            if row not in seen:
                seen.add(row)
                out.append((lemma, row))
                if len(out) == k:
                    break
        return out


@functools.cache
def lemma_index(wordnet: WordNet) -> LemmaIndex:
    return LemmaIndex(wordnet)


def last_term(text: str) -> tuple[str, str]:
    """Split a query into what stays ("engine + ") and the term being typed ("bo"), weight included."""
    parts = list(re.finditer(SPLIT, " " + text))
    cut = parts[-1].end() - 1 if parts else 0
    head, term = text[:cut], text[cut:]
    m = WEIGHT.match(term)
    if m:
        head, term = head + term[: m.start(2)], m.group(2)
    return head, term


def sense_query(encoder: QueryEncoder, lemma: str, row: int) -> tuple[str, str]:
    """(hint, query term) that the query language resolves to exactly `row`: the bare lemma when that
    is already its default sense, else lemma%hint with the first hint that picks it, else the wnid."""
    wn = encoder.wordnet
    rows = wn.lookup(lemma)
    hints = sense_hints(wn, lemma, row)
    first = hints[0] if hints else ""
    if len(rows) <= 1 or wn.default_sense(lemma) == row:
        return first, lemma
    for hint in hints:
        try:
            if encoder.pick_sense(rows, hint) == row:
                return hint, f"{lemma}%{hint}"
        except Exception:  # a hint with no vector: try the next one
            continue
    return first, wn.wnids[row]


def suggest(encoder: QueryEncoder, text: str, k: int = 8) -> list[Suggestion]:
    """Senses for the term being typed at the end of `text`, best first."""
    head, term = last_term(text)
    if not term.strip() or "%" in term:
        return []
    wn = encoder.wordnet
    out = []
    for lemma, row in lemma_index(wn).complete(term, k, encoder.nouns.covered):
        hint, query_term = sense_query(encoder, lemma, row)
        out.append(Suggestion(row, wn.wnids[row], lemma, hint, wn.glosses[row], wn.branch(row),
                              head + query_term))
    return out
