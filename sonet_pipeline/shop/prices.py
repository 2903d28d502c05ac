"""The shop's `prices.jsonl`: per price list and item, the prices in force at the publish and those
that come into force within the tenant's horizon (`prices.in_force`), from the synced price list
lines; and when the file must be published again though Sonet changed nothing (`refresh_at`).

The records are `prices.in_force.price_records`'; the file's shape is docs/shop.md's ("Prices").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sonet_pipeline.prices.in_force import price_records, refresh_at
from sonet_pipeline.prices.lines import active_lines, instant_text


@dataclass(frozen=True)
class PricesFile:
    """The records of `prices.jsonl`, the instant they stop being current (None: never), and figures."""

    records: list[dict[str, Any]]
    next_change: datetime | None
    counts: dict[str, int]

    @property
    def next_change_text(self) -> str | None:
        """`next_change` as the manifest writes it (ISO-8601 UTC, `Z`, milliseconds)."""
        return instant_text(self.next_change)


def prices_file(lines: Iterable[Mapping[str, Any]], now: datetime, horizon: timedelta) -> PricesFile:
    """`prices.jsonl` published at `now` from the snapshot's price list line records."""
    active = active_lines(lines)
    records = list(price_records(active, now, horizon))
    counts = {
        "price_lists": len({record["priceListCode"] for record in records}),
        "items_priced": len(records),
        "lines_active": len(active),
        "items_with_changes_ahead": sum(1 for record in records if len(record["periods"]) > 1),
    }
    return PricesFile(records, refresh_at(active, now, horizon), counts)
