"""The lines a published `prices.jsonl` holds, read back as `Line`s: what a reader of the shop's files
prices with (`resolution.PriceBook`), e.g. `sonet-pipeline shop price`.

Each period's breaks are the lines that win there (`in_force`), so the lines of every period of a
(list, item) give, at any instant the file covers, the same winner as the list's lines themselves.
A break that does not parse is left out, as `lines.parse_line` leaves out a record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sonet_pipeline.prices.lines import ACTIVE, Line, parse_line


def published_lines(records: Iterable[Mapping[str, Any]]) -> list[Line]:
    """The distinct lines of the records' periods' breaks (a line in several periods once)."""
    found: dict[str, Line] = {}
    for record in records:
        periods = record.get("periods")
        for period in periods if isinstance(periods, list) else []:
            breaks = period.get("breaks") if isinstance(period, Mapping) else None
            for entry in breaks if isinstance(breaks, list) else []:
                if not isinstance(entry, Mapping):
                    continue
                fields = {"priceListCode": record.get("priceListCode"), "itemCode": record.get("itemCode")}
                line = parse_line({**entry, **fields, "status": ACTIVE})
                if line is not None:
                    found.setdefault(line.line_id, line)
    return [found[line_id] for line_id in sorted(found)]
