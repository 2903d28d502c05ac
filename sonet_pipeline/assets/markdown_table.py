"""Markdown tables for asset and check metadata: the rows an operator reads in the Dagster UI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def markdown_table(rows: Sequence[Mapping[str, Any]], limit: int | None = None) -> str:
    """The rows (their first row's keys as columns), at most `limit` of them and then how many more;
    "none" without rows. Cells are one line of at most 120 characters, `|` escaped."""
    if not rows:
        return "none"
    columns = list(rows[0])
    shown = rows if limit is None else rows[:limit]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in shown]
    if len(rows) > len(shown):
        lines.append(f"\n…and {len(rows) - len(shown)} more")
    return "\n".join(lines)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")[:120]
