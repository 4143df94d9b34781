"""Beyond the class names: every lemma of a class's synset ("rooster", "mobile phone", "brontosaurus"),
and everyday words for a group of classes ("bird", "instrument"), typed as a user types them: through
search.query, so a word is searched in the sense the engine picks for it. Each should find its photos
as well as the class noun itself does.
"""

from __future__ import annotations

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.data.wordnet import WordNet
from nounlens.search.query import QueryEncoder
from nounlens.trainer.quality import metrics
from nounlens.trainer.quality.evaluate import Gallery, Method

# An everyday word -> the gallery classes (classes.csv names) someone typing it wants to see. Our own
# lists: mostly what WordNet puts under the word, plus what people mean by it ("cat" takes in leopards,
# "boat" the sailing ships, "flower" lotus and water lilies, "instrument" the musical ones).
EVERYDAY = {
    "dog": ("dalmatian",),
    "cat": ("cougar", "wildcat", "leopard"),
    "bird": ("cock", "emu", "flamingo", "ibis", "pigeon"),
    "fish": ("bass", "seahorse"),
    "insect": ("ant", "butterfly", "dragonfly", "mayfly"),
    "dinosaur": ("apatosaur", "stegosaur"),
    "flower": ("sunflower", "lotus", "water_lily"),
    "tree": ("bonsai", "Joshua_tree"),
    "boat": ("ferry", "ketch", "schooner"),
    "aircraft": ("airplane", "helicopter"),
    "vehicle": ("airplane", "car", "ferry", "helicopter", "ketch", "motorcycle", "schooner"),
    "instrument": ("accordion", "electric_guitar", "euphonium", "grand_piano", "mandolin", "sax"),
    "musical instrument": ("accordion", "electric_guitar", "euphonium", "grand_piano", "mandolin", "sax"),
    "crustacean": ("crab", "crayfish", "lobster"),
    "tool": ("scissors", "wrench"),
    "gun": ("cannon", "revolver"),
    "building": ("minaret", "pagoda", "Pyramid"),
    "furniture": ("chair", "lamp", "wheelchair", "Windsor_chair"),
    "phone": ("cellular_telephone",),
}
WORSE = 0.10  # a typed query "works as well" as its class noun when its AP is at most this much lower


def lemma_queries(gallery: Gallery, wordnet: WordNet) -> list[dict]:
    """Every lemma of every class's synset, spelt with spaces, as a query meant to find that class."""
    return [{"query": lemma.replace("_", " "), "targets": [c["row"]], "class": c["name"], "wnid": c["wnid"]}
            for c in gallery.classes for lemma in wordnet.lemmas[c["row"]]]


def everyday_queries(gallery: Gallery, words: dict[str, tuple[str, ...]] = EVERYDAY) -> list[dict]:
    """Each everyday word as a query meant to find its classes (those the gallery holds)."""
    by_name = {c["name"]: c for c in gallery.classes}
    out = []
    for word, names in words.items():
        held = [by_name[n] for n in names if n in by_name]
        if held:
            out.append({"query": word, "targets": [c["row"] for c in held], "classes": [c["name"] for c in held],
                        "wnids": [c["wnid"] for c in held]})
    return out


def run_typed(gallery: Gallery, method: Method, encoder: QueryEncoder, queries: list[dict]) -> list[dict]:
    """Each query typed into the query language and ranked as the engine ranks it: its AP over the photos
    of its targets (and below them), and which noun it was read as; a query the engine refuses scores 0."""
    out = []
    for q in queries:
        right = gallery.right(set(q["targets"]))
        try:
            vec, resolved = encoder.encode(q["query"])
        except NounlensError as e:
            out.append(q | {"ap": 0.0, "read_as": f"refused: {e}"})
            continue
        scores = method.rank_query(gallery.features, vec, [(r.row, r.term.weight) for r in resolved])
        out.append(q | {"ap": metrics.average_precision(right, scores), "read_as": read_as(encoder, resolved, q),
                        "p@8": metrics.precision_at_k(right, scores, 8)})
    return out


def read_as(encoder: QueryEncoder, resolved: list, query: dict) -> str:
    """The nouns a query was read as; one outside its targets (and their subtrees) shows its wnid."""
    wn, out = encoder.wordnet, []
    for r in resolved:
        if r.row is None:
            out.append(r.how)
        elif r.row in query["targets"] or any(t in wn.ancestors(r.row) for t in query["targets"]):
            out.append(wn.noun(r.row).name)
        else:
            out.append(f"{wn.noun(r.row).name} ({wn.wnids[r.row]}: another sense)")
    return ", ".join(out)


def beyond_names(gallery: Gallery, method: Method, encoder: QueryEncoder, per_class: dict) -> dict:
    """Lemmas and everyday words against the class nouns' own APs (`per_class`, from text_to_photo):
    a lemma against its class, a word against the mean of its classes."""
    lemmas = run_typed(gallery, method, encoder, lemma_queries(gallery, encoder.wordnet))
    for q in lemmas:
        q["name_ap"] = per_class[q["wnid"]]["ap"]
    words = run_typed(gallery, method, encoder, everyday_queries(gallery))
    for q in words:
        q["name_ap"] = float(np.mean([per_class[w]["ap"] for w in q["wnids"]]))
    return {"lemmas": lemmas, "everyday": words, "worse": WORSE} | {
        f"{kind}_summary": summary(rows) for kind, rows in (("lemmas", lemmas), ("everyday", words))}


def summary(rows: list[dict]) -> dict:
    """Mean AP typed vs by the class noun, and how many typed queries fall more than WORSE below it."""
    ap, name = np.array([r["ap"] for r in rows]), np.array([r["name_ap"] for r in rows])
    return {"queries": len(rows), "map": float(ap.mean()), "name_map": float(name.mean()),
            "worse": int((ap < name - WORSE).sum())}
