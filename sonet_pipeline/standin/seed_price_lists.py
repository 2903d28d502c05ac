"""Deterministic seed price list lines (contract 1.1, `PriceListLine`) of one stand-in company.

`generate_price_list_lines(seed, items=..., customers=..., epoch=...)` streams plain dicts in the
GraphQL shape of `PriceListLine` (every field present, Decimals as strings, DateTimes as aware UTC
datetimes), from the company's items and customers as `seed_data.generate_company` makes them (or as
the stand-in holds them: the order they come in does not matter, the lines are the same). Only a
brief of each item is kept, not the records.

What a merchant's price lists look like, dirty on purpose:
- one list per segment's `priceListCode` (`LISTS`), each over a share of the catalogue at a discount
  from the item's listPrice (a price agreed for an item without one too); `PL-EXPORT` in SEK, an
  export list in another currency than the items' EUR;
- a customer's own list (`PL-<customerNumber>`, the customers whose `priceListCode` names no segment's
  list): a few dozen items at a deeper discount;
- quantity breaks (`minQuantity` 10, 50, 100 at lower prices), expired campaigns (`validFrom` and
  `validTo` in the past), next-but-one year's prices (`validFrom` two years after the epoch);
- lines of items not sold (PASSIVE and DELETED items) and of items that do not exist, PASSIVE and
  DELETED lines, a few double entries (two ACTIVE lines tying on list, item, break and validity);
- the yearly price update: the base lines of the big lists (`BULK_LISTS`) share one millisecond.
Every `dateModified` lies in `[epoch - 365 days, epoch)`.

Every seed holds the lines the tests use (`SPECIAL_LINES`, line ids `PLL-0000001`..): BOOT-PRO-43 in
C10042's list PL-RAKENNUS at 52.90, 49.90 from 10 pairs, an expired campaign at 44.90 and a future
price of 54.90; GLOVE-WORK twice in PL-RESELLER (a tie, 3.20 and 3.10); BOOT-PRO-43 at 689.00 SEK in
PL-EXPORT; and a line of `MISSING_ITEM_CODE` in PL-RAKENNUS.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sonet_pipeline.standin.seed_data import DEFAULT_EPOCH, MISSING_ITEM_CODE, SEGMENTS, Record

_CENT = Decimal("0.01")
_SPAN_MS = 365 * 86_400_000
SEK_PER_EUR = Decimal("11.50")


@dataclass(frozen=True)
class PriceList:
    code: str
    currency: str
    share: float  # of the catalogue's items the list prices
    discount: tuple[int, int]  # percent off the listPrice, lowest and highest


#: The segments' lists (`seed_data.SEGMENTS`), what they cover and at what discount.
LISTS = (
    PriceList("PL-RAKENNUS", "EUR", 0.20, (5, 15)),
    PriceList("PL-TEOLLISUUS", "EUR", 0.12, (4, 12)),
    PriceList("PL-KIINTEISTO", "EUR", 0.08, (3, 10)),
    PriceList("PL-SAHKO", "EUR", 0.08, (5, 12)),
    PriceList("PL-JULKINEN", "EUR", 0.10, (8, 20)),
    PriceList("PL-MAATALOUS", "EUR", 0.03, (5, 10)),
    PriceList("PL-RESELLER", "EUR", 0.20, (20, 35)),
    PriceList("PL-EXPORT", "SEK", 0.06, (10, 25)),
    PriceList("PL-HENKILOSTO", "EUR", 0.05, (25, 30)),
)
#: The lists whose base lines the yearly price update wrote at once (one millisecond).
BULK_LISTS = frozenset({"PL-RAKENNUS", "PL-TEOLLISUUS", "PL-JULKINEN", "PL-RESELLER"})
#: Item codes that appear in price lists but in no catalogue (discontinued long ago).
UNKNOWN_ITEM_CODES = (MISSING_ITEM_CODE, "POISTUNUT-00017", "POISTUNUT-00342")
_OWN_LIST_ITEMS = (5, 40)

#: (lineId, priceListCode, itemCode, price, currency, minQuantity, validFrom, validTo) of every seed;
#: validity as days after the epoch (None: open).
SPECIAL_LINES: tuple[tuple[str, str, str, str, str, str, int | None, int | None], ...] = (
    ("PLL-0000001", "PL-RAKENNUS", "BOOT-PRO-43", "52.90", "EUR", "1", None, None),
    ("PLL-0000002", "PL-RAKENNUS", "BOOT-PRO-43", "49.90", "EUR", "10", None, None),
    ("PLL-0000003", "PL-RAKENNUS", "BOOT-PRO-43", "44.90", "EUR", "1", -120, -90),
    ("PLL-0000004", "PL-RAKENNUS", "BOOT-PRO-43", "54.90", "EUR", "1", 730, None),
    ("PLL-0000005", "PL-RESELLER", "GLOVE-WORK", "3.20", "EUR", "1", None, None),
    ("PLL-0000006", "PL-RESELLER", "GLOVE-WORK", "3.10", "EUR", "1", None, None),
    ("PLL-0000007", "PL-EXPORT", "BOOT-PRO-43", "689.00", "SEK", "1", None, None),
    ("PLL-0000008", "PL-RAKENNUS", MISSING_ITEM_CODE, "50.00", "EUR", "1", None, None),
)
_SPECIAL_KEYS = frozenset((code, item) for _, code, item, *_ in SPECIAL_LINES)
_SEGMENT_LISTS = frozenset(code for *_, code, _ in SEGMENTS if code)


@dataclass(frozen=True, slots=True)
class _Item:
    code: str
    list_price: Decimal | None


def generate_price_list_lines(
    seed: int, *, items: Iterable[Record], customers: Iterable[Record], epoch: datetime = DEFAULT_EPOCH
) -> Iterator[Record]:
    """Every price list line of the company; see the module docstring. Reads `items` and `customers` first."""
    epoch = epoch.astimezone(UTC).replace(microsecond=epoch.microsecond // 1000 * 1000)
    catalogue = sorted((_Item(i["itemCode"], _decimal(i.get("listPrice"))) for i in items), key=_code)
    own_lists = sorted({c["priceListCode"] for c in customers if c.get("priceListCode")} - _SEGMENT_LISTS)
    return _Lines(random.Random(f"sonet-standin/{seed}/price-lists"), epoch).all(catalogue, own_lists)


class _Lines:
    def __init__(self, rng: random.Random, epoch: datetime) -> None:
        self.rng, self.epoch = rng, epoch
        self.bulk = self.random_stamp()
        self.serial = len(SPECIAL_LINES)

    def all(self, catalogue: list[_Item], own_lists: list[str]) -> Iterator[Record]:
        yield from self.special()
        random = self.rng.random
        for item in catalogue:
            for price_list in LISTS:
                if random() < price_list.share and (price_list.code, item.code) not in _SPECIAL_KEYS:
                    yield from self.item_lines(price_list, item)
        for code in UNKNOWN_ITEM_CODES[1:]:
            yield from self.item_lines(self.rng.choice(LISTS), _Item(code, Decimal("19.90")))
        special_items = {code for _, code in _SPECIAL_KEYS}
        sellable = [item for item in catalogue if item.code not in special_items]
        for code in own_lists:
            stamp = self.random_stamp()  # a customer's list is entered at once
            chosen = self.rng.sample(sellable, min(len(sellable), self.rng.randint(*_OWN_LIST_ITEMS)))
            for item in sorted(chosen, key=_code):
                yield from self.item_lines(PriceList(code, "EUR", 1.0, (10, 25)), item, stamp)

    def special(self) -> Iterator[Record]:
        for line_id, code, item, price, currency, quantity, valid_from, valid_to in SPECIAL_LINES:
            yield _line(
                line_id,
                code,
                item,
                price,
                currency,
                quantity,
                self.days(valid_from),
                self.days(valid_to),
                "ACTIVE",
                self.bulk if quantity == "1" and valid_from is None and code in BULK_LISTS else self.random_stamp(),
            )

    def item_lines(self, price_list: PriceList, item: _Item, stamp: datetime | None = None) -> Iterator[Record]:
        """The base line of `item` in the list, and now and then breaks, a campaign, a future price, a twin."""
        rng = self.rng
        base = item.list_price if item.list_price is not None else Decimal(rng.randint(5, 400)) + Decimal("0.90")
        percent = rng.randint(*price_list.discount)
        bulk = price_list.code in BULK_LISTS and stamp is None
        yield self.line(price_list, item, base, percent, "1", stamp or (self.bulk if bulk else None))
        if rng.random() < 0.15:  # quantity breaks
            for quantity, extra in (("10", 5), ("50", 9), ("100", 12))[: rng.choice((1, 1, 2, 3))]:
                yield self.line(price_list, item, base, percent + extra, quantity, stamp)
        if rng.random() < 0.04:  # a campaign that ended before the epoch
            start = self.epoch - timedelta(days=rng.randint(100, 300))
            yield self.line(price_list, item, base, percent + 15, "1", stamp, (start, start + timedelta(days=30)))
        if bulk and rng.random() < 0.05:  # next-but-one year's price, entered ahead
            yield self.line(price_list, item, base, percent - 3, "1", stamp, (self.days(730), None))
        if rng.random() < 0.003:  # entered twice: a tie the contract breaks by lineId
            yield self.line(price_list, item, base, percent + 1, "1", stamp or (self.bulk if bulk else None))

    def line(
        self,
        price_list: PriceList,
        item: _Item,
        base: Decimal,
        percent: int,
        quantity: str,
        stamp: datetime | None,
        validity: tuple[datetime | None, datetime | None] = (None, None),
    ) -> Record:
        self.serial += 1
        price = base * (100 - min(percent, 90)) / 100
        if price_list.currency == "SEK":
            price *= SEK_PER_EUR
        r = self.rng.random()
        status = "DELETED" if r < 0.02 else "PASSIVE" if r < 0.05 else "ACTIVE"
        return _line(
            f"PLL-{self.serial:07d}",
            price_list.code,
            item.code,
            str(max(price, _CENT).quantize(_CENT, ROUND_HALF_UP)),
            price_list.currency,
            quantity,
            *validity,
            status,
            stamp or self.random_stamp(),
        )

    def random_stamp(self) -> datetime:
        return self.epoch - timedelta(milliseconds=self.rng.randint(1, _SPAN_MS))

    def days(self, days: int | None) -> datetime | None:
        return None if days is None else self.epoch + timedelta(days=days)


def _line(
    line_id: str,
    price_list: str,
    item: str,
    price: str,
    currency: str,
    quantity: str,
    valid_from: datetime | None,
    valid_to: datetime | None,
    status: str,
    stamp: datetime,
) -> Record:
    return {
        "lineId": line_id,
        "priceListCode": price_list,
        "itemCode": item,
        "price": price,
        "currency": currency,
        "minQuantity": quantity,
        "validFrom": valid_from,
        "validTo": valid_to,
        "status": status,
        "dateModified": stamp,
    }


def _code(item: _Item) -> str:
    return item.code


def _decimal(value: str | None) -> Decimal | None:
    try:
        return None if value is None else Decimal(value)
    except ArithmeticError:  # not a number (an admin change may write anything): as if none
        return None
