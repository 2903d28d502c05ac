"""Simulated ERP activity on the price lists (contract 1.1): what a merchant's sales staff change.

Each change answers `("priceListLines", record)` or None when it does not apply, like the kinds of
`activity.py`, which mixes them in: a line's price agreed anew, a new line (an item added to a list,
or a quantity break), a line ended now (its `validTo`), a line passivated or deleted. Prices keep 2
decimals; lines of the seed's special records (`seed_price_lists.SPECIAL_LINES`) are left alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from sonet_pipeline.standin.seed_price_lists import SPECIAL_LINES
from sonet_pipeline.standin.state import Record

LINES = "priceListLines"
_CENT = Decimal("0.01")
_BREAKS = ("5", "10", "25", "50", "100", "250")
#: Line ids the tests and the contract's examples rely on: never changed by the activity.
PROTECTED_LINES = frozenset(line[0] for line in SPECIAL_LINES)


class Picking(Protocol):
    """What a change needs of `activity._Context`: the rng, a random record, a free key, the time."""

    rng: random.Random

    def pick(self, entity: str, statuses: tuple[str, ...] = ..., tries: int = ...) -> Record | None: ...

    def new_code(self, entity: str, like: str | None, fallback_prefix: str) -> str: ...

    def now(self) -> datetime: ...


PriceListChange = Callable[[Picking], tuple[str, Record] | None]


def _pick_line(ctx: Picking, statuses: tuple[str, ...] = ("ACTIVE",)) -> Record | None:
    line = ctx.pick(LINES, statuses)
    return None if line is None or line["lineId"] in PROTECTED_LINES else line


def line_price(ctx: Picking) -> tuple[str, Record] | None:
    """A price agreed anew: a few percent up or down."""
    line = _pick_line(ctx, ("ACTIVE", "PASSIVE"))
    if line is None:
        return None
    percent = Decimal(ctx.rng.choice([-8, -5, -2, 2, 3, 4, 6, 10]))
    line["price"] = _money(Decimal(line["price"]) * (1 + percent / 100))
    return LINES, line


def line_new(ctx: Picking) -> tuple[str, Record] | None:
    """An item added to a list at a negotiated price, or a new quantity break of a listed item."""
    template, item = _pick_line(ctx), ctx.pick("items", ("ACTIVE",))
    if template is None or item is None:
        return None
    line = dict(template, lineId=ctx.new_code(LINES, template["lineId"], "PLL-"), validFrom=None, validTo=None)
    if ctx.rng.random() < 0.5 and item.get("listPrice") is not None and line["currency"] == item["currency"]:
        discount = Decimal(ctx.rng.randint(3, 30))
        line.update(
            itemCode=item["itemCode"],
            minQuantity="1",
            price=_money(Decimal(item["listPrice"]) * (100 - discount) / 100),
        )
    else:
        line.update(minQuantity=ctx.rng.choice(_BREAKS), price=_money(Decimal(line["price"]) * Decimal("0.93")))
    line["status"] = "ACTIVE"
    return LINES, line


def line_ended(ctx: Picking) -> tuple[str, Record] | None:
    """An open-ended line given an end now (the price no longer agreed)."""
    line = _pick_line(ctx)
    if line is None or line.get("validTo") is not None:
        return None
    line["validTo"] = ctx.now()
    return LINES, line


def line_status(status: str) -> PriceListChange:
    def change(ctx: Picking) -> tuple[str, Record] | None:
        line = _pick_line(ctx, ("ACTIVE", "PASSIVE") if status == "DELETED" else ("ACTIVE",))
        if line is None:
            return None
        line["status"] = status
        return LINES, line

    return change


#: Kind, weight, change: mixed into `activity._KINDS`.
KINDS: list[tuple[str, int, PriceListChange]] = [
    ("line_price", 8, line_price),
    ("line_new", 3, line_new),
    ("line_ended", 1, line_ended),
    ("line_passivated", 1, line_status("PASSIVE")),
    ("line_deleted", 1, line_status("DELETED")),
]


def _money(value: Decimal) -> str:
    return str(max(value, _CENT).quantize(_CENT, ROUND_HALF_UP))
