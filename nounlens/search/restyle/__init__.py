"""Restyling a photo in a painting's style, at query time: one pass of a trained stylizer (restyler.py), or
Gatys et al.'s pixel optimisation (optimise.py) with its colour handling (colour.py) and the shipped
choices (settings.py). The networks and losses are in models/ (stylizer, style_losses); training a
stylizer is in trainer/style/."""

from nounlens.search.restyle.restyler import Restyled, Restyler, image_format

__all__ = ["Restyled", "Restyler", "image_format"]
