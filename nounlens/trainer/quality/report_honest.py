"""docs/quality.md's sections on the honest figures (trainer.quality.honest): held-out against all-fold,
the settings chosen, the classes that lose most, the page threshold, lemmas and everyday words, and the
picture queries' right counts."""

from __future__ import annotations

from nounlens.search.ranking import Ranking
from nounlens.trainer.quality import queries, tuning
from nounlens.trainer.quality.evaluate import GROUPS
from nounlens.trainer.quality.report_table import table

SETTING_NAMES = {"mix": "exact mix", "tau": "exact τ", "zero_shot_mix": "zero-shot mix", "zero_shot_tau": "zero-shot τ",
                 "feedback_top": "feedback top", "feedback_weight": "feedback weight", "agreement": "agreement τ"}


def _maps(values: dict[str, float]) -> list[str]:
    return [f"{values[g]:.3f}" for g in GROUPS]


def _harm(names: list[str]) -> str:
    return f"{len(names)} ({', '.join(n.replace('_', ' ') for n in names)})" if names else "0"


def headline_table(honest: dict, runs: dict) -> list[str]:
    """Per encoder: plain ConSE, the held-out figures, the all-fold ones and the shipped default's."""
    rows = []
    for encoder, h in honest.items():
        cv, default = h["cv"], runs[encoder]["default"]["text_to_photo"]
        rows += [[encoder, "plain ConSE (the no-harm baseline)"] + _maps(cv["conse_map"]) + ["–"],
                 [encoder, "**held-out** (each fold under the setting chosen on the other two)"]
                 + [f"**{v}**" for v in _maps(cv["held_out_map"])] + [_harm(cv["harmed_held_out"])],
                 [encoder, "all-fold (the setting chosen on every class, measured on them)"]
                 + _maps(cv["all_fold_map"]) + ["–"],
                 [encoder, "shipped default (search/ranking.py)"] + _maps(cv["default_map"])
                 + [_harm(cv["harmed_default"])],
                 [encoder, "shipped default, a photo right only with the very label"]
                 + [f"{default[g]['map_exact']:.3f}" for g in GROUPS]
                 + [_harm(cv["harmed_default_exact_labels"])]]
    return table(["encoder", "ranking", "strict mAP", "hypernym mAP", "ImageNet mAP",
                  f"classes > {tuning.HARM:.2f} below ConSE"], rows)


def settings_table(honest: dict) -> list[str]:
    rows = []
    for encoder, h in honest.items():
        cv = h["cv"]
        named = [(f"chosen without fold {f + 1}", s) for f, s in enumerate(cv["fold_settings"])]
        for label, s in named + [("**chosen on all folds**", cv["settings"]), ("shipped", cv["shipped"])]:
            rows.append([encoder, label] + [f"{s[k]:g}" for k in SETTING_NAMES])
    return table(["encoder", "setting"] + list(SETTING_NAMES.values()), rows)


def worst_table(honest: dict) -> list[str]:
    rows = [[encoder, w["name"], w["group"], f"{w['conse']:.3f}", f"{w['held_out']:.3f}",
             f"{w['held_out'] - w['conse']:+.3f}", f"{w['default']:.3f}"]
            for encoder, h in honest.items() for w in h["cv"]["worst"]]
    return table(["encoder", "class", "group", "ConSE AP", "held-out AP", "held-out − ConSE", "shipped default AP"],
                 rows)


def threshold_lines(honest: dict) -> list[str]:
    out = []
    for encoder, h in honest.items():
        t = h["threshold"]
        folds = "; ".join(f"fold {f + 1}: {theta:.3f}, {100 * p:.0f} % right of {n:,}"
                          for f, (theta, p, n) in enumerate(t["folds"]))
        out.append(f"- {encoder}: chosen on all classes **{t['threshold']:.3f}** (shipped PAGE_THRESHOLD "
                   f"{t['shipped']:.2f}); held out, each chosen on two folds and measured on the third: {folds}.")
    return out


def beyond_lines(honest: dict) -> list[str]:
    """Lemmas and everyday words: summaries, the words one by one, and the lemmas that fall short."""
    rows, words, short = [], [], []
    for encoder, h in honest.items():
        b = h["beyond"]
        for kind, title in (("lemmas", "every lemma of a class"), ("everyday", "everyday words")):
            s = b[f"{kind}_summary"]
            rows.append([encoder, title, str(s["queries"]), f"{s['map']:.3f}", f"{s['name_map']:.3f}",
                         str(s["worse"])])
        words += [[encoder, f"`{q['query']}`", ", ".join(q["classes"]), q["read_as"], f"{q['ap']:.3f}",
                   f"{q['name_ap']:.3f}"] for q in b["everyday"]]
        short += [f"`{q['query']}` ({encoder}: {q['class']}, read as {q['read_as']}) {q['ap']:.3f} vs "
                  f"{q['name_ap']:.3f}" for q in b["lemmas"] if q["ap"] < q["name_ap"] - b["worse"]]
    out = table(["encoder", "queries", "how many", "mAP typed", "mAP of the class nouns",
                 f"typed > {queries.WORSE:.2f} below"], rows)
    out += ["", "Everyday words (AP over the photos of all their classes, against the mean AP of those classes' "
                "own nouns):", ""]
    out += table(["encoder", "word", "classes", "read as", "AP", "class nouns' mean AP"], words)
    out += ["", f"Lemmas that fall more than {queries.WORSE:.2f} below their class noun: "
            + ("; ".join(short) or "none") + "."]
    return out


def picture_table(honest: dict) -> list[str]:
    rows = []
    for encoder, h in honest.items():
        p = h["picture"]
        rows += [[encoder, name.replace("_", " "), f"{p['conse'][name]}/8", f"{p['default'][name]}/8"]
                 for name in p["default"]]
    return table(["encoder", "query", "plain ConSE", "shipped default"], rows)


def describe(settings: Ranking) -> str:
    """The shipped ranking in words, from its settings."""
    s = settings
    return (f"Search ranks an exact query (a noun at or above ImageNet classes) by {1 - s.mix:g} × ConSE cosine + "
            f"{s.mix:g} × effective cosine (τ = {s.tau:g}), any other query by {1 - s.zero_shot_mix:g} × ConSE "
            f"cosine + {s.zero_shot_mix:g} × effective cosine (τ = {s.zero_shot_tau:g}), over the 1,000 best "
            f"ConSE candidates; then mixes each candidate's score 1 : {s.feedback_weight:g} with its cosine to the "
            f"expanded query, the mean of the {s.feedback_top} best results' centred features, each weighted "
            f"exp((e − e_max) / {s.agreement:g}) by its agreement e with the query's own evidence (the ConSE "
            "cosine for a zero-shot query, the score itself for an exact one).")


def honest_section(honest: dict, runs: dict) -> list[str]:
    """The whole section, headline first."""
    groups = "/".join(GROUPS)
    out = ["## 4. Honest figures: every ranking setting chosen by cross-validation over classes", "",
           f"Each group's classes ({groups}) are dealt into {tuning.FOLDS} folds by a hash of their wnid. For each "
           f"fold, the ranking setting is chosen on the other two folds from a grid of "
           f"{next(iter(honest.values()))['cv']['grid_size']:,} settings (search.ranking.Ranking; "
           "trainer/quality/tuning.py): first the fewest classes whose AP falls more than "
           f"{tuning.HARM:.2f} below plain ConSE, then the best mean of the three groups' mAPs. The fold's classes "
           "are then measured under it: **the held-out rows are the headline**. The all-fold row is the setting "
           "chosen on every class, measured on the same classes (optimistic); search/ranking.py ships it. A photo "
           "is right when its label is the query's noun or a noun under it in WordNet (cougar photos are right "
           "for \"wildcat\", Windsor chairs for \"chair\", lotus for \"water lily\"); the last row of each encoder "
           "counts only the very label.", ""]
    out += headline_table(honest, runs) + ["", "The settings chosen:", ""] + settings_table(honest)
    out += ["", "The five classes whose held-out AP falls furthest below plain ConSE:", ""] + worst_table(honest)
    out += ["", "### The page's threshold", "",
            f"The score above which results are right at least {100 * tuning.PRECISION:.0f} % of the time: every "
            "candidate of every class query, pooled, under the fold's setting; the lowest score whose results at "
            "or above it are right that often.", ""] + threshold_lines(honest)
    out += ["", "### Beyond the class names", "",
            "Every lemma of each class's synset, and everyday words for groups of classes "
            "(trainer/quality/queries.py), typed into the query language as a user types them and ranked by the "
            "shipped default; a query the engine refuses (no vector for the lemma) counts 0.", ""]
    out += beyond_lines(honest)
    out += ["", "### The picture queries", "", "Top-8 right counts (the picture below shows the shipped default, "
            "minilm):", ""] + picture_table(honest)
    return out
