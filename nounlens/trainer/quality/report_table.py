"""A markdown table: the one helper every quality report section writes its tables with."""

from __future__ import annotations


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + ["| " + " | ".join(r) + " |"
                                                                              for r in rows]
