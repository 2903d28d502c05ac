"""The tenant's `catalogue_line` extensions: the catalogue's lines before they are published (extra
fields for the shop), one call per publish with every line.

A line keeps its `sku` and every key the catalogue gave it, each with a value of the same JSON type
(or null): an extension adds to a line, it cannot unmake what the shop relies on. A line an extension
failed is withheld from the file and reported with the extension's name and reason; the rest are
published.
"""

from __future__ import annotations

import json
from typing import Any

from sonet_pipeline.extensions.chains import TenantChains
from sonet_pipeline.extensions.extension import ExtensionFailed
from sonet_pipeline.extensions.points import CATALOGUE_LINE
from sonet_pipeline.shop.publish import EncodedLines, jsonl


def extended_lines(chains: TenantChains | None, lines: EncodedLines) -> tuple[EncodedLines, list[dict[str, Any]]]:
    """The catalogue's lines after the tenant's extensions, and the lines withheld: `{sku, reason}` each."""
    if chains is None or not chains.has(CATALOGUE_LINE):
        return lines, []
    given = [json.loads(line) for line in lines.data.split(b"\n") if line.strip()]
    outcomes = chains.apply(CATALOGUE_LINE, given, check=_line_problem)
    kept = [outcome for outcome in outcomes if not isinstance(outcome, ExtensionFailed)]
    withheld = [
        {"sku": line.get("sku"), "reason": outcome.message}
        for line, outcome in zip(given, outcomes, strict=True)
        if isinstance(outcome, ExtensionFailed)
    ]
    return EncodedLines(jsonl(kept), len(kept)), withheld


def _line_problem(after: dict[str, Any], before: dict[str, Any]) -> str | None:
    dropped = [key for key in before if key not in after]
    if dropped:
        return f"dropped the line's {', '.join(dropped)}"
    retyped = [
        key
        for key, value in before.items()
        if value is not None and after[key] is not None and _kind(after[key]) != _kind(value)
    ]
    return f"changed the type of the line's {', '.join(retyped)}" if retyped else None


def _kind(value: Any) -> str:
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__
