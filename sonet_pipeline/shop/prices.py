"""The shop's `prices.jsonl`: per price list and item, the prices in force at the publish and those
that come into force within the tenant's horizon (`prices.in_force`), from the synced price list
lines; and when the file must be published again though Sonet changed nothing (`refresh_at`).

The records are `prices.in_force.price_records`'; the file's shape is docs/shop.md's ("Prices").
`prices_file` holds every line and record at once; the step uses `streamed_prices_file`, which reads
the lines ordered by list and item (`LINE_ORDER`) and encodes each (list, item)'s record as it comes:
the same bytes, with only one item's lines and the encoded file in memory (300,000 lines: see
bench/README.md, "Price lists at scale").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from itertools import groupby
from operator import attrgetter
from typing import Any

from sonet_pipeline.prices.in_force import price_record, price_records, refresh_at
from sonet_pipeline.prices.lines import active_lines, instant_text, parse_line
from sonet_pipeline.shop.publish import EncodedLines, jsonl

#: The order `streamed_prices_file` reads the lines in (`Snapshot.records(..., order=LINE_ORDER)`; the step
#: reads them a few lists at a time, `Snapshot.records_in_parts(..., LINE_ORDER[0], order=LINE_ORDER[1:])`).
LINE_ORDER = ("priceListCode", "itemCode")


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


@dataclass(frozen=True)
class EncodedPricesFile:
    """`prices.jsonl` encoded (the bytes `jsonl` makes of `PricesFile.records`), its `next_change`, figures."""

    lines: EncodedLines
    next_change: datetime | None
    counts: dict[str, int]

    @property
    def next_change_text(self) -> str | None:
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


def streamed_prices_file(ordered: Iterable[Mapping[str, Any]], now: datetime, horizon: timedelta) -> EncodedPricesFile:
    """`prices_file`'s file and figures, encoded one (list, item) at a time from line records ordered by
    `LINE_ORDER` (code points; records that price nothing may come anywhere). ValueError naming the
    pair when a (list, item) comes after a greater one: the lines were not read in that order."""
    buffer, lists = BytesIO(), set()
    priced = active = ahead = 0
    soonest: datetime | None = None  # the first edge after now: the "now" goes stale
    beyond: datetime | None = None  # the first edge beyond the horizon: it enters the horizon
    previous: tuple[str, str] | None = None
    parsed = (line for line in map(parse_line, ordered) if line is not None)
    for key, group in groupby(parsed, key=attrgetter("price_list", "item_code")):
        if previous is not None and key <= previous:
            raise ValueError(f"price list lines not ordered by list and item: {key} after {previous}")
        previous, lines = key, list(group)
        active += len(lines)
        for edge in (edge for line in lines for edge in (line.valid_from, line.valid_to)):
            if edge is not None and edge > now:
                soonest = edge if soonest is None else min(soonest, edge)
                if edge > now + horizon:
                    beyond = edge if beyond is None else min(beyond, edge)
        record = price_record(*key, lines, now, horizon)
        if record is not None:
            buffer.write(jsonl((record,)))
            priced += 1
            lists.add(key[0])
            ahead += len(record["periods"]) > 1
    counts = {
        "price_lists": len(lists),
        "items_priced": priced,
        "lines_active": active,
        "items_with_changes_ahead": ahead,
    }
    # `refresh_at`: the first change, or earlier when one beyond the horizon comes within it.
    next_change = soonest if beyond is None or soonest is None else min(soonest, beyond - horizon)
    return EncodedPricesFile(EncodedLines(buffer.getvalue(), priced), next_change, counts)
