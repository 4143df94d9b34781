"""Altair charts for the UI's two maps: photos coloured by WordNet branch, and a noun's neighbourhood."""

from __future__ import annotations

import altair as alt
import pandas as pd


def photo_map_chart(points: pd.DataFrame, highlight: pd.DataFrame, height: int = 560) -> alt.LayerChart:
    """`points`: id, x, y, branch, noun, file and, for a sample, image (a data URI shown on hover).
    `highlight`: the same columns for the current query's results, drawn on top and ringed."""
    tooltip = [alt.Tooltip("file:N"), alt.Tooltip("noun:N", title="top noun"), alt.Tooltip("branch:N"),
               alt.Tooltip("image:N")]
    size = int(min(160, max(18, 6000 / max(1, len(points)))))  # dots that a few or 10,000 photos both read well at
    base = alt.Chart(points).mark_circle(size=size, opacity=0.7).encode(
        x=alt.X("x:Q", axis=None), y=alt.Y("y:Q", axis=None),
        color=alt.Color("branch:N", scale=alt.Scale(scheme="tableau10"),
                        legend=alt.Legend(title="top noun's branch", orient="right")),
        tooltip=tooltip)
    layers = [base.add_params(alt.selection_point(name="photo", fields=["id"], on="click"))]
    if len(highlight):
        layers.append(alt.Chart(highlight).mark_point(size=size * 4, filled=False, strokeWidth=2.5, color="black")
                      .encode(x="x:Q", y="y:Q", tooltip=tooltip))
    return alt.layer(*layers).properties(height=height).interactive()


def noun_map_chart(nouns: pd.DataFrame, height: int = 520) -> alt.LayerChart:
    """`nouns`: name, gloss, relation, branch, similarity, x, y (see Engine.noun_map)."""
    tooltip = [alt.Tooltip("name:N"), alt.Tooltip("gloss:N"), alt.Tooltip("relation:N"),
               alt.Tooltip("branch:N"), alt.Tooltip("similarity:Q", format=".3f")]
    enc = {"x": alt.X("x:Q", axis=None), "y": alt.Y("y:Q", axis=None)}
    relations = ["the noun", "both", "WordNet, 1 hop", "WordNet, 2 hops", "text space"]
    colours = ["#111111", "#8e44ad", "#1f77b4", "#7fb8e0", "#ff7f0e"]
    dots = alt.Chart(nouns).mark_circle().encode(
        **enc, color=alt.Color("relation:N", scale=alt.Scale(domain=relations, range=colours),
                               legend=alt.Legend(title="how it is related", orient="right")),
        size=alt.condition(alt.datum.relation == "the noun", alt.value(260), alt.value(90)),
        tooltip=tooltip)
    labels = alt.Chart(nouns).mark_text(align="left", dx=7, fontSize=11).encode(**enc, text="name:N",
                                                                                  tooltip=tooltip)
    return alt.layer(dots, labels).properties(height=height).interactive()
