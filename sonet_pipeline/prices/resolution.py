"""Which line prices an item for a buyer (contract 1.1, README "Price lists"), and the price it gives.

- The buyer's list: the account's `priceListCode` (`rights.accounts` resolves it: the customer's own,
  else the first of its ACTIVE segments, in the order listed, that has one).
- The line: among the ACTIVE lines of that list for the item with `minQuantity <= quantity` and
  `validFrom <= at < validTo` (a null bound open), the greatest `minQuantity`; on a tie the latest
  `validFrom` (null earliest); on a tie the greatest `lineId` by code point.
- No such line, or no list: the item's `listPrice` in the item's currency (null: price on request).
  A line of an item that does not exist or is not sold prices nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sonet_pipeline.prices.lines import Line, decimal

LINE, LIST_PRICE, ON_REQUEST, NOT_SOLD = "line", "list price", "price on request", "not sold"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Price:
    """A buyer's price of one item: `amount` in `currency` (None: on request or not sold), and why."""

    amount: Decimal | None
    currency: str | None
    source: str  # LINE, LIST_PRICE, ON_REQUEST or NOT_SOLD
    line: Line | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "price": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "source": self.source,
            "line": None if self.line is None else self.line.as_json(),
        }


def rank(line: Line) -> tuple[Decimal, bool, datetime, str]:
    """The order in which lines that apply win: greatest break, then latest validFrom (null earliest),
    then greatest lineId by code point (Python compares str by code point)."""
    return (line.min_quantity, line.valid_from is not None, line.valid_from or _EARLIEST, line.line_id)


def winning_line(lines: Iterable[Line], quantity: Decimal, at: datetime) -> Line | None:
    """The line that prices `quantity` at `at` among one list's lines of one item, or None."""
    return max((line for line in lines if line.min_quantity <= quantity and line.valid_at(at)), key=rank, default=None)


class PriceBook:
    """Every ACTIVE line by (list, item), to answer many buyers' prices."""

    def __init__(self, lines: Iterable[Line]) -> None:
        self._lines: dict[tuple[str, str], list[Line]] = defaultdict(list)
        for line in lines:
            self._lines[line.price_list, line.item_code].append(line)

    def lines_of(self, price_list: str, item_code: str) -> list[Line]:
        return list(self._lines.get((price_list, item_code), ()))

    def price_of(
        self,
        item: Mapping[str, Any] | None,
        price_list: str | None,
        quantity: Decimal,
        at: datetime,
    ) -> Price:
        """The buyer's price of `item` (the item's record; None: no such item) from `price_list`."""
        if item is None or item.get("status") != "ACTIVE":
            return Price(None, None, NOT_SOLD)
        if price_list is not None:
            line = winning_line(self._lines.get((price_list, str(item.get("itemCode"))), ()), quantity, at)
            if line is not None:
                return Price(line.price, line.currency, LINE, line)
        currency = item.get("currency") if isinstance(item.get("currency"), str) else None
        amount = decimal(item.get("listPrice"))
        return Price(amount, currency, LIST_PRICE if amount is not None else ON_REQUEST)
