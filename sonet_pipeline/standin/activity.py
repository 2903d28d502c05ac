"""Simulated ERP activity: what the merchant's staff and Sonet's own jobs change while the pipeline reads.

Every change goes through `Standin.apply_change`, so it is journalled when the stand-in persists. A
change writes a whole record: a copy of the newest version (`CompanyState.latest`) with some fields
changed; `CompanyState.change` stamps it. Decimals stay strings, prices with 2 places. Stock does not
go below zero, except rarely on purpose (Sonet allows overselling; a later check warns on it). The
seed's special records (`seed_data.SPECIAL_*`), which the contract's examples use, are left alone.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sonet_pipeline.standin import price_list_activity
from sonet_pipeline.standin.runtime import Company, Standin
from sonet_pipeline.standin.seed_data import MISSING_ITEM_CODE, SPECIAL_CUSTOMER_NUMBERS, SPECIAL_ITEM_CODES
from sonet_pipeline.standin.state import ENTITY_KEYS, Record

log = logging.getLogger(__name__)

_CENT = Decimal("0.01")
#: Records the contract's examples and the tests rely on: never changed, and never created.
_PROTECTED = frozenset(
    {*SPECIAL_ITEM_CODES, *SPECIAL_CUSTOMER_NUMBERS, MISSING_ITEM_CODE, *price_list_activity.PROTECTED_LINES}
)
NEGATIVE_STOCK_SHARE = 0.01  # how often a sale may oversell into negative stock
_WORDS = ["Arctic", "Boreal", "Kaamos", "Lumi", "Revontuli", "Tunturi", "Kivi", "Metsä", "Järvi", "Routa"]
_FORMS = ["Oy", "Ab", "Ky", "Tmi", "Oyj"]
_SEGMENT_TAGS = ["Nordic", "Gold", "Silver", "Pro", "Plus", "Partners"]
_FIRST = ["Aino", "Eero", "Helmi", "Ilmari", "Kaisa", "Lauri", "Mikko", "Noora", "Sanna", "Väinö"]
_LAST = ["Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Lehtonen", "Heikkinen", "Järvinen", "Lindqvist"]
_CITIES = [("00100", "Helsinki"), ("33100", "Tampere"), ("20100", "Turku"), ("90100", "Oulu"), ("40100", "Jyväskylä")]


class _Context:
    """One batch of changes to one company: its keys (read once) and the rng."""

    def __init__(self, company: Company, rng: random.Random) -> None:
        self.company = company
        self.rng = rng
        with company.state.lock:
            self.keys = {e: list(company.state.table(e).keys()) for e in ENTITY_KEYS}
        self.keys = {e: [k for k in keys if k not in _PROTECTED] for e, keys in self.keys.items()}
        self._models: dict[str, list[str]] | None = None
        self._values: dict[str, set[str]] = {}

    def latest(self, entity: str, key: str) -> Record:
        record = self.company.state.latest(entity, key)
        assert record is not None, (entity, key)
        return copy.deepcopy(record)

    def pick(self, entity: str, statuses: tuple[str, ...] = ("ACTIVE", "PASSIVE"), tries: int = 20) -> Record | None:
        """A copy of the newest version of a random record in one of `statuses`, or None."""
        keys = self.keys[entity]
        for _ in range(tries if keys else 0):
            record = self.latest(entity, self.rng.choice(keys))
            if record.get("status") in statuses:
                return record
        return None

    def now(self) -> datetime:
        return self.company.state.clock.now()

    def taken(self, entity: str, key: str) -> bool:
        return key in _PROTECTED or self.company.state.latest(entity, key) is not None

    def models(self) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
        """Item codes by modelCode, and every value of each variant attribute (built on first use).

        Models with a protected item are left out: no new variant there (the contract's `BOOT-PRO-44`
        does not exist, and no other code shall sell that size of the model either).
        """
        if self._models is None:
            self._models, self._values = {}, {}
            for item in self.company.state.snapshot("items"):
                if item.get("modelCode"):
                    self._models.setdefault(item["modelCode"], []).append(item["itemCode"])
                for attribute in item.get("variantAttributes") or []:
                    self._values.setdefault(attribute["name"], set()).add(attribute["value"])
            for model in [m for m, codes in self._models.items() if _PROTECTED.intersection(codes)]:
                del self._models[model]
        return self._models, self._values

    def new_code(self, entity: str, like: str | None, fallback_prefix: str) -> str:
        """A free key shaped like `like` (same prefix, as many digits), else `fallback_prefix` + digits."""
        match = re.fullmatch(r"(.*?)(\d+)", like or "")
        prefix, width = (match.group(1), max(len(match.group(2)), 4)) if match else (fallback_prefix, 6)
        while True:
            code = f"{prefix}{self.rng.randrange(10**width):0{width}d}"
            if not self.taken(entity, code):
                return code
            width += 1  # crowded: widen rather than loop for long


# -- the kinds of change: each answers (entity, record) or None when it does not apply ---------------

Change = Callable[[_Context], tuple[str, Record] | None]
_LIVE, _ACTIVE = ("ACTIVE", "PASSIVE"), ("ACTIVE",)


def _edit(entity: str, statuses: tuple[str, ...], mutate: Callable[[_Context, Record], bool | None]) -> Change:
    """A change to a random existing record in `statuses`; `mutate` answers False when it does not apply."""

    def change(ctx: _Context) -> tuple[str, Record] | None:
        record = ctx.pick(entity, statuses)
        if record is None or mutate(ctx, record) is False:
            return None
        return entity, record

    return change


def _new_price(ctx: _Context, item: Record) -> None:
    percent = Decimal(ctx.rng.choice([-10, -5, -3, 2, 3, 4, 5, 8, 12]))
    old = item.get("listPrice")
    new = Decimal(ctx.rng.randint(500, 30000)) / 100 if old is None else Decimal(old) * (1 + percent / 100)
    item["listPrice"] = str(max(new, _CENT).quantize(_CENT, ROUND_HALF_UP))


def _new_stock(ctx: _Context, item: Record) -> None:
    """Mostly sales of a few, sometimes a delivery; below zero only rarely (`NEGATIVE_STOCK_SHARE`)."""
    old = Decimal(item.get("stockBalance") or "0")
    new = old + (ctx.rng.randint(10, 120) if ctx.rng.random() < 0.3 else -ctx.rng.randint(1, 6))
    if new < 0 and ctx.rng.random() >= NEGATIVE_STOCK_SHARE:
        new = Decimal(0)
    item["stockBalance"] = _decimals_like(new, item.get("stockBalance"))


def _move_segment(ctx: _Context, customer: Record) -> bool:
    segment = ctx.pick("customerSegments", _ACTIVE)
    codes = list(customer.get("segmentCodes") or [])
    if segment is None or segment["segmentCode"] in codes:
        return False
    if codes:
        codes[ctx.rng.randrange(len(codes))] = segment["segmentCode"]  # moved from one to another
    customer["segmentCodes"] = codes or [segment["segmentCode"]]
    customer["priceListCode"] = segment.get("priceListCode") or customer.get("priceListCode")
    return True


def _add_contact(ctx: _Context, customer: Record) -> bool:
    if not customer.get("businessId"):
        return False  # consumers have no contact persons
    contacts = customer.setdefault("contacts", [])
    ids, number = {c["contactId"] for c in contacts}, len(contacts) + 1
    while f"{customer['customerNumber']}-{number}" in ids:
        number += 1
    contacts.append({"contactId": f"{customer['customerNumber']}-{number}", **_person(ctx.rng)})
    return True


def _rename_segment(ctx: _Context, segment: Record) -> None:
    base = re.sub(rf" ({'|'.join(_SEGMENT_TAGS)})$", "", segment["name"])
    segment["name"] = f"{base} {ctx.rng.choice([t for t in _SEGMENT_TAGS if f'{base} {t}' != segment['name']])}"


def _item_new(ctx: _Context) -> tuple[str, Record] | None:
    """A new standalone item, shaped like an existing one."""
    item = ctx.pick("items", _ACTIVE) or {"productGroup": None, "unit": "PCS", "currency": "EUR", "vatRate": "25.5"}
    base = (item.get("modelName") or item.get("name") or "Tuote").split(",")[0][:60]
    item.update(
        itemCode=ctx.new_code("items", item.get("itemCode"), "IT"),
        name=f"{base} {ctx.rng.choice(_WORDS)}",
        description=None,
        modelCode=None,
        modelName=None,
        variantAttributes=[],
        ean=_ean13(ctx.rng),
        listPrice=str(Decimal(ctx.rng.randint(990, 29900)).scaleb(-2)),
        stockBalance=_decimals_like(Decimal(0), item.get("stockBalance")),
        webVisible=ctx.rng.random() < 0.8,
        status="ACTIVE",
    )
    return "items", item


def _item_new_variant(ctx: _Context) -> tuple[str, Record] | None:
    """A new variant in an existing model: an attribute value the model lacks (the next size, a colour)."""
    models, values = ctx.models()
    if not models:
        return None
    model_code = ctx.rng.choice(sorted(models))
    siblings = [ctx.latest("items", code) for code in models[model_code]]
    template = next((s for s in siblings if s.get("variantAttributes") and s.get("status") == "ACTIVE"), None)
    if template is None:
        return None
    attributes = template["variantAttributes"]
    index = ctx.rng.randrange(len(attributes))
    name = attributes[index]["name"]
    candidates = set(values[name])
    if all(v.isdigit() for v in candidates):
        candidates.add(str(max(map(int, candidates)) + 1))  # e.g. the next shoe size
    taken = {_pairs(s.get("variantAttributes") or []) for s in siblings}
    options = [v for v in sorted(candidates) if _pairs(_replaced(attributes, index, v)) not in taken]
    if not options:
        return None
    new = _replaced(attributes, index, ctx.rng.choice(options))
    labels = [a["value"] for a in new]
    code = re.sub(r"[^A-Z0-9-]", "", f"{model_code}-{'-'.join(labels)}".upper())
    template.update(
        itemCode=ctx.new_code("items", code, "IT") if ctx.taken("items", code) else code,
        name=f"{template.get('modelName') or template['name']}, {', '.join(labels)}",
        variantAttributes=new,
        ean=_ean13(ctx.rng),
        stockBalance=_decimals_like(Decimal(0), template.get("stockBalance")),
    )
    models[model_code].append(template["itemCode"])
    return "items", template


def _replaced(attributes: list[dict[str, str]], index: int, value: str) -> list[dict[str, str]]:
    return [{**a, "value": value} if i == index else dict(a) for i, a in enumerate(attributes)]


def _pairs(attributes: list[dict[str, str]]) -> frozenset[tuple[str, str]]:
    return frozenset((a["name"], a["value"]) for a in attributes)


def _customer_new(ctx: _Context) -> tuple[str, Record] | None:
    segment, template = ctx.pick("customerSegments", _ACTIVE), ctx.pick("customers", _ACTIVE)
    number = ctx.new_code("customers", template["customerNumber"] if template else None, "C")
    consumer = segment is not None and segment.get("customerType") == "CONSUMER"
    person = _person(ctx.rng)
    firm = f"{ctx.rng.choice(_LAST + _WORDS)} {ctx.rng.choice(_FORMS)}"
    name = person["name"] if consumer else firm
    business_id = None if consumer else _business_id(ctx.rng)
    postal_code, city = ctx.rng.choice(_CITIES)
    street = f"{ctx.rng.choice(_WORDS)}katu {ctx.rng.randint(1, 60)}"
    address = dict(type="BILLING", name=name, street=street, postalCode=postal_code, city=city, countryCode="FI")
    return "customers", {
        "customerNumber": number,
        "name": name,
        "businessId": business_id,
        "vatNumber": None if business_id is None else "FI" + business_id.replace("-", ""),
        "email": person["email"],
        "phone": _phone(ctx.rng),
        "segmentCodes": [] if segment is None else [segment["segmentCode"]],
        "priceListCode": None if segment is None else segment.get("priceListCode"),
        "paymentTermsCode": None if consumer else (template or {}).get("paymentTermsCode", "NET14"),
        "creditLimit": None if consumer else f"{ctx.rng.choice([2000, 5000, 10000, 25000])}.00",
        "orderBlocked": False,
        "addresses": [address],
        "contacts": [] if consumer else [{"contactId": f"{number}-1", **person}],
        "status": "ACTIVE",
    }


#: How an accepted order moves on in Sonet's order handling (CANCELLED now and then instead of CONFIRMED).
_NEXT_ORDER_STATUS = {"RECEIVED": "CONFIRMED", "CONFIRMED": "DELIVERED"}


def _order_progressed(ctx: _Context) -> tuple[str, Record] | None:
    """An accepted order's next `orderStatus`; None when no order is still on its way."""
    keys = ctx.keys["salesOrders"]
    for _ in range(20 if keys else 0):
        order = ctx.latest("salesOrders", ctx.rng.choice(keys))
        following = _NEXT_ORDER_STATUS.get(order["orderStatus"])
        if following is not None:
            cancelled = order["orderStatus"] == "RECEIVED" and ctx.rng.random() < 0.05
            order["orderStatus"] = "CANCELLED" if cancelled else following
            return "salesOrders", order
    return None


#: Kind, weight, change. Weights: roughly what a merchant's ERP sees in a working day.
_KINDS: list[tuple[str, int, Change]] = [
    ("item_price", 25, _edit("items", _LIVE, _new_price)),
    ("item_stock", 32, _edit("items", _LIVE, _new_stock)),
    ("item_new", 3, _item_new),
    ("item_new_variant", 3, _item_new_variant),
    ("item_deleted", 2, _edit("items", _LIVE, lambda ctx, item: item.update(status="DELETED"))),
    ("item_passivated", 3, _edit("items", _ACTIVE, lambda ctx, item: item.update(status="PASSIVE"))),
    ("customer_phone", 8, _edit("customers", _LIVE, lambda ctx, c: c.update(phone=_phone(ctx.rng)))),
    ("customer_segment", 5, _edit("customers", _LIVE, _move_segment)),
    ("customer_blocked", 4, _edit("customers", _ACTIVE, lambda _, c: c.update(orderBlocked=not c.get("orderBlocked")))),
    ("customer_contact", 4, _edit("customers", _ACTIVE, _add_contact)),
    ("customer_new", 4, _customer_new),
    ("segment_renamed", 1, _edit("customerSegments", _LIVE, _rename_segment)),
    ("order_progressed", 6, _order_progressed),
    *price_list_activity.KINDS,  # prices agreed per customer list (contract 1.1)
]


def random_changes(
    standin: Standin, company: Company, count: int, rng: random.Random, *, delay_seconds: float | None = None
) -> dict[str, int]:
    """`count` changes of a realistic mix to `company`, one record each; answer how many of each kind.

    Without `delay_seconds` the company's `late_share` decides when each becomes visible.
    """
    ctx = _Context(company, rng)
    names, weights = [k[0] for k in _KINDS], [k[1] for k in _KINDS]
    changes = {name: change for name, _, change in _KINDS}
    counts: Counter[str] = Counter()
    for _ in range(count):
        kind = rng.choices(names, weights)[0]
        made = changes[kind](ctx)
        if made is None:  # nothing to apply it to (no models, no segments, ...): a new item instead
            kind, made = "item_new", _item_new(ctx)
            assert made is not None
        entity, record = made
        key = record[ENTITY_KEYS[entity]]
        if not ctx.taken(entity, key):
            ctx.keys[entity].append(key)
        standin.apply_change(company, entity, [record], delay_seconds=delay_seconds)
        counts[kind] += 1
    return dict(counts)


def backdated_changes(
    standin: Standin, company: Company, count: int, delay_seconds: float, rng: random.Random
) -> dict[str, int]:
    """Like `random_changes`, but each visible only `delay_seconds` after its dateModified."""
    return random_changes(standin, company, count, rng, delay_seconds=delay_seconds)


def bulk_update(
    standin: Standin, company: Company, entity: str = "items", count: int = 1200, *, percent: Decimal | str = "3"
) -> int:
    """Raise a price field by `percent` on up to `count` records, all stamped with ONE millisecond.

    Items change `listPrice`, price list lines `price`, customers `creditLimit` (null stays null); other
    entities are re-saved as they are. DELETED and protected records are left alone. Answers how many
    records were written.
    """
    field = {"items": "listPrice", "priceListLines": "price", "customers": "creditLimit"}.get(entity)
    factor = 1 + Decimal(percent) / 100
    records: list[Record] = []
    with company.state.lock:
        for key in list(company.state.table(entity).keys()):
            record = copy.deepcopy(company.state.latest(entity, key)) or {}
            if record.get("status") == "DELETED" or key in _PROTECTED:
                continue
            if field and record.get(field) is not None:
                record[field] = str((Decimal(record[field]) * factor).quantize(_CENT, ROUND_HALF_UP))
            records.append(record)
            if len(records) == count:
                break
    standin.apply_change(company, entity, records, same_stamp=True)
    return len(records)


async def run_activity(
    standin: Standin,
    per_minute: int,
    *,
    rng: random.Random | None = None,
    step_seconds: float = 0.2,
    totals: Counter[str] | None = None,
) -> None:
    """Make `per_minute` changes per minute of `standin.clock`, spread round-robin over all companies.

    Sleeps real time in steps of `step_seconds` and makes as many changes as the stand-in clock has
    moved since (with a `ManualClock` that stands still: none, and no spinning). At most one minute's
    worth per step, the rest carried over. Runs until cancelled; `totals` counts the kinds made.
    """
    if per_minute <= 0:
        return
    rng = rng or random.Random(0)
    companies = list(standin.companies.values())
    last, owed, turn = standin.clock.monotonic(), 0.0, 0
    while True:
        await asyncio.sleep(step_seconds)
        now = standin.clock.monotonic()
        owed += (now - last) * per_minute / 60
        last = now
        due = min(int(owed + 1e-9), per_minute)
        owed -= due
        shares = Counter(companies[(turn + i) % len(companies)].code for i in range(due))
        turn += due
        for company in companies:
            if shares[company.code]:
                try:
                    made = random_changes(standin, company, shares[company.code], rng)
                except Exception:  # a bug here must not end the activity of a running server
                    log.exception("ERP activity failed for company %s", company.code)
                    continue
                if totals is not None:
                    totals.update(made)


def _decimals_like(value: Decimal, like: str | None) -> str:
    """`value` with as many decimals as `like` has (Sonet shows "12.000" for metres, "12" for pieces)."""
    exponent = min(int(Decimal(like or "0").as_tuple().exponent), 0)
    return str(value.quantize(Decimal(1).scaleb(exponent)))


def _ean13(rng: random.Random) -> str:
    digits = [6, 4] + [rng.randrange(10) for _ in range(10)]  # 64: a GS1 Finland prefix
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _business_id(rng: random.Random) -> str:
    """A Finnish business ID (Y-tunnus) with a valid check digit."""
    while True:
        digits = [rng.randrange(10) for _ in range(7)]
        remainder = sum(d * w for d, w in zip(digits, [7, 9, 10, 5, 8, 4, 2], strict=True)) % 11
        if remainder != 1:
            return "".join(map(str, digits)) + "-" + str(0 if remainder == 0 else 11 - remainder)


def _phone(rng: random.Random) -> str:
    return f"0{rng.choice(['40', '44', '45', '50'])} {rng.randrange(1_000_000, 10_000_000)}"


def _person(rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    email = f"{first}.{last}@example.fi".lower().translate(str.maketrans("äö", "ao"))
    return {"name": f"{first} {last}", "email": email, "role": rng.choice(["ADMIN", "BUYER", "BUYER", "VIEWER"])}
