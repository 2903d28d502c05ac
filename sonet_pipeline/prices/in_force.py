"""What the shop's `prices.jsonl` holds: per list and item, the quantity breaks in force now and those
that come into force within a horizon, each period with its start, so the shop switches on time.

One record per (list, item) that has a break in force now or within the horizon:

    {"priceListCode": "L1", "itemCode": "A", "periods": [
        {"validFrom": null, "validTo": "2026-12-24T00:00:00.000Z", "breaks": [<line>, ...]},
        {"validFrom": "2026-12-24T00:00:00.000Z", "validTo": null, "breaks": [...]}]}

A period starts at the publish (`validFrom` null) or at an instant where a line starts or ends, and
lasts to the next such instant within the horizon (`validTo` null: until a later publish says more).
Its breaks are, per `minQuantity`, the line that wins among those of that break (`resolution.rank`):
the price of quantity q is the break with the greatest `minQuantity <= q`; a period without breaks
(an empty list) means the item's list price then. The shop republishes at the first change
(`next_change`), so "now" in the file is never older than a period, and when a change comes within
the horizon (`refresh_at` is the earlier of the two).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sonet_pipeline.prices.lines import Line, instant_text
from sonet_pipeline.prices.resolution import rank

#: How far ahead `prices.jsonl` lists the periods to come (a tenant setting may change it).
DEFAULT_HORIZON = timedelta(days=7)


def breaks_at(lines: Iterable[Line], at: datetime) -> list[Line]:
    """The lines in force at `at`, one per `minQuantity` (the one that wins there), by break."""
    best: dict[Decimal, Line] = {}
    for line in lines:
        if line.valid_at(at) and (line.min_quantity not in best or rank(line) > rank(best[line.min_quantity])):
            best[line.min_quantity] = line
    return [best[minimum] for minimum in sorted(best)]


def boundaries(lines: Iterable[Line], after: datetime, until: datetime) -> list[datetime]:
    """The instants in (after, until] where a line starts or ends, in order."""
    instants = {edge for line in lines for edge in (line.valid_from, line.valid_to) if edge is not None}
    return sorted(edge for edge in instants if after < edge <= until)


def periods(lines: list[Line], now: datetime, horizon: timedelta) -> list[dict[str, Any]]:
    """The periods of one list and item from `now` to `now + horizon` (see the module's docstring)."""
    starts: list[datetime | None] = [None, *boundaries(lines, now, now + horizon)]
    result: list[dict[str, Any]] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else None
        result.append(
            {
                "validFrom": instant_text(start),
                "validTo": instant_text(end),
                "breaks": [_break(line) for line in breaks_at(lines, start or now)],
            }
        )
    return result


def price_records(
    lines: Iterable[Line], now: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> Iterator[dict[str, Any]]:
    """The records of `prices.jsonl`, by list then item (code point order); none for a (list, item)
    without a break in force now or within the horizon."""
    grouped: dict[tuple[str, str], list[Line]] = defaultdict(list)
    for line in lines:
        grouped[line.price_list, line.item_code].append(line)
    for (price_list, item_code), group in sorted(grouped.items()):
        record = price_record(price_list, item_code, group, now, horizon)
        if record is not None:
            yield record


def price_record(
    price_list: str, item_code: str, lines: list[Line], now: datetime, horizon: timedelta
) -> dict[str, Any] | None:
    """The record of one list and item (`lines`: all of theirs), None without a break in force now or
    within the horizon."""
    scheduled = periods(lines, now, horizon)
    if any(period["breaks"] for period in scheduled):
        return {"priceListCode": price_list, "itemCode": item_code, "periods": scheduled}
    return None


def next_change(lines: Iterable[Line], now: datetime) -> datetime | None:
    """The first instant after `now` where a line starts or ends: when the file's "now" goes stale."""
    return min(
        (edge for line in lines for edge in (line.valid_from, line.valid_to) if edge and edge > now), default=None
    )


def refresh_at(lines: Iterable[Line], now: datetime, horizon: timedelta = DEFAULT_HORIZON) -> datetime | None:
    """When the records published at `now` stop being what `price_records` gives: at the next change
    (a period's "now" goes stale), or earlier when a change beyond the horizon comes within it (the
    file lists it in advance). None: no line ever starts or ends after `now`."""
    edges = sorted({edge for line in lines for edge in (line.valid_from, line.valid_to) if edge and edge > now})
    if not edges:
        return None
    entering = next((edge - horizon for edge in edges if edge > now + horizon), None)
    return edges[0] if entering is None else min(edges[0], entering)


def _break(line: Line) -> dict[str, Any]:
    return {
        "minQuantity": str(line.min_quantity),
        "price": str(line.price),
        "currency": line.currency,
        "lineId": line.line_id,
        "validFrom": instant_text(line.valid_from),
        "validTo": instant_text(line.valid_to),
    }
