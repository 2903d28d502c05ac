"""Deterministic seed data of the Sonet stand-in: a Finnish B2B wholesaler's items, customers, segments.

`generate_company(seed, items=..., customers=...)` answers a `CompanyData` of three generators. Each
streams plain dicts in the GraphQL shape of the contract's `schema.graphql` (every field present,
nullable ones as None; Decimals as strings, `dateModified` as aware UTC datetimes with millisecond
precision), one record at a time: nothing holds all records in memory. Each generator is single-use;
call `generate_company` again (it is cheap, nothing runs until iterated) for a fresh pass. The three
streams have their own random generators, so they may be read in any order or interleaved.

The same seed, sizes and epoch give identical records; other seeds give other data. Every
`dateModified` lies in `[epoch - 365 days, epoch)`, and many share one millisecond (batch imports and a
bulk price update), as the contract warns. Records come in generation order, not `(dateModified, key)`.

Every seed and size holds the records that the contract's examples and the tests use:
- items `BOOT-PRO-39` .. `BOOT-PRO-46` (model `BOOT-PRO`, Size 43 at 59.90, VAT 25.5) *without*
  `BOOT-PRO-44`, which the example `error-unknown-item.xml` says does not exist (`MISSING_ITEM_CODE`);
- item `GLOVE-WORK` at 4.15, productGroup GLOVES, no variantAttributes (the shop sells it in sizes);
- customers `C10042` (Rakennus Oy Mäkinen & Poika, contacts C10042-1 and C10042-2 with
  osto@makinen.example), `C10666` (ACTIVE, order-blocked) and `C10999` (DELETED, in a segment that
  does not exist).
They count within the requested sizes, so a company has `max(items, 8)` items and
`max(customers, 3)` customers: items=5 yields 8. `customers` defaults to `max(20, items // 20)`. The
11 segments (`SEGMENTS`) are the same in every company; only their `dateModified` depends on the seed.

Dirty data on purpose: missing prices, zero and fractional stock, PASSIVE and DELETED records, items
hidden from the web, customers in segments that do not exist (`DANGLING_SEGMENT_CODES`), a few contact
e-mails shared by two customers (even pairs exactly, odd pairs differing in letter case), and
hostile texts (`& < > " '`, emoji, combining characters, 300+ characters) in some names.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sonet_pipeline.standin import finnish_names as words

Record = dict[str, Any]

DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365)
_SPAN_MS = 365 * 86_400_000

BOOT_PRO_SIZES = ("39", "40", "41", "42", "43", "45", "46")
#: An item code that no company has (the contract's UNKNOWN_ITEM example).
MISSING_ITEM_CODE = "BOOT-PRO-44"
SPECIAL_ITEM_CODES = (*(f"BOOT-PRO-{size}" for size in BOOT_PRO_SIZES), "GLOVE-WORK")
SPECIAL_CUSTOMER_NUMBERS = ("C10042", "C10666", "C10999")

#: (segmentCode, name, customerType, priceListCode, status) of every company's segments.
SEGMENTS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("B2B-RAKENNUS", "Rakennusliikkeet", "B2B", "PL-RAKENNUS", "ACTIVE"),
    ("B2B-TEOLLISUUS", "Teollisuus", "B2B", "PL-TEOLLISUUS", "ACTIVE"),
    ("B2B-KIINTEISTO", "Kiinteistöhuolto & isännöinti", "B2B", "PL-KIINTEISTO", "ACTIVE"),
    ("B2B-SAHKO", "Sähkö- ja LVI-urakoitsijat", "B2B", "PL-SAHKO", "ACTIVE"),
    ("B2B-JULKINEN", "Julkinen sektori (kunnat, kaupungit)", "B2B", "PL-JULKINEN", "ACTIVE"),
    ("B2B-MAATALOUS", "Maatalous", "B2B", "PL-MAATALOUS", "DELETED"),
    ("RESELLER-NORTH", "Jälleenmyyjät – Pohjois-Suomi", "RESELLER", "PL-RESELLER", "ACTIVE"),
    ("RESELLER-SOUTH", "Jälleenmyyjät – Etelä-Suomi", "RESELLER", "PL-RESELLER", "ACTIVE"),
    ("RESELLER-EXPORT", 'Vienti "Baltia" <EE/LV>', "RESELLER", "PL-EXPORT", "PASSIVE"),
    ("CONSUMER", "Kuluttajat", "CONSUMER", None, "ACTIVE"),
    ("CONSUMER-STAFF", "Henkilöstöostot", "CONSUMER", "PL-HENKILOSTO", "ACTIVE"),
)
#: Segment codes that some customers carry but no segment has (note the lower case one).
DANGLING_SEGMENT_CODES = ("B2B-VANHA", "KAMPANJA-2019", "reseller-north")

_PRICE_LISTS = {code: price_list for code, _, _, price_list, _ in SEGMENTS}
_CODES_BY_TYPE = {kind: [s[0] for s in SEGMENTS if s[2] == kind] for kind in ("B2B", "RESELLER")}
_LINE_WEIGHTS = list(itertools.accumulate(line.weight for line in words.PRODUCT_LINES))
_FRACTIONAL_UNITS = frozenset({"m", "kg", "l", "m2"})
_ITEM_SUFFIXES = (" & tarvikkeet", " <UUSI>", ' "Erikois"', " 'Pro'", " 🥾")
_SHARED_EMAIL_EVERY = 61  # customers 0 and 1 of every 61 share one contact e-mail
_Y_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class CompanyData:
    """One company's seed records. Each iterator is single-use and streams its records lazily."""

    items: Iterator[Record]
    customers: Iterator[Record]
    customer_segments: Iterator[Record]
    item_count: int  # how many records each iterator will yield
    customer_count: int
    segment_count: int


def generate_company(
    seed: int, *, items: int, customers: int | None = None, epoch: datetime = DEFAULT_EPOCH
) -> CompanyData:
    """The seed records of one company; see the module docstring for sizes and guarantees."""
    if items < 0 or (customers is not None and customers < 0):
        raise ValueError("items and customers must not be negative")
    if epoch.tzinfo is None or epoch.utcoffset() is None:
        raise ValueError("epoch must be timezone-aware")
    epoch = epoch.astimezone(UTC)
    epoch = epoch.replace(microsecond=epoch.microsecond // 1000 * 1000)
    item_count = max(items, len(SPECIAL_ITEM_CODES))
    wanted = max(20, items // 20) if customers is None else customers
    customer_count = max(wanted, len(SPECIAL_CUSTOMER_NUMBERS))
    return CompanyData(
        items=_items(seed, item_count, epoch),
        customers=_customers(seed, customer_count, epoch),
        customer_segments=_segments(seed, epoch),
        item_count=item_count,
        customer_count=customer_count,
        segment_count=len(SEGMENTS),
    )


class _Stamps:
    """`dateModified` values: random milliseconds, a few batch stamps and one bulk-update stamp."""

    def __init__(self, rng: random.Random, epoch: datetime, *, batches: int, batch: float, bulk: float):
        self._rng, self._epoch = rng, epoch
        self.batches = tuple(self.random() for _ in range(batches))
        self.bulk = self.random()
        self._bulk_share, self._batch_limit = bulk, bulk + batch

    def random(self) -> datetime:
        return self._epoch - timedelta(milliseconds=self._rng.randint(1, _SPAN_MS))

    def next(self) -> datetime:
        r = self._rng.random()
        if r < self._bulk_share:
            return self.bulk
        return self._rng.choice(self.batches) if r < self._batch_limit else self.random()


def _rng(seed: int, stream: str) -> random.Random:
    return random.Random(f"sonet-standin/{seed}/{stream}")  # str seeds hash stably (SHA-512)


def _status(rng: random.Random, passive: float, deleted: float) -> str:
    r = rng.random()
    return "DELETED" if r < deleted else "PASSIVE" if r < deleted + passive else "ACTIVE"


def _long(text: str) -> str:
    return f"{text} – {words.LONG_TEXT}{words.LONG_TEXT}".rstrip()


# --- items -------------------------------------------------------------------------------------


def _item(
    code: str,
    name: str,
    description: str | None,
    model: tuple[str, str] | None,
    attributes: list[tuple[str, str]],
    group: str,
    unit: str,
    ean: str | None,
    price: str | None,
    vat: str,
    stock: str,
    visible: bool,
    status: str,
    stamp: datetime,
) -> Record:
    return {
        "itemCode": code,
        "name": name,
        "description": description,
        "modelCode": model[0] if model else None,
        "modelName": model[1] if model else None,
        "variantAttributes": [{"name": n, "value": v} for n, v in attributes],
        "productGroup": group,
        "unit": unit,
        "ean": ean,
        "listPrice": price,
        "currency": "EUR",
        "vatRate": vat,
        "stockBalance": stock,
        "webVisible": visible,
        "status": status,
        "dateModified": stamp,
    }


def _ean(number: int, offset: int) -> str:
    """A valid EAN-13 with the Finnish prefix 64, distinct for distinct `number`s below 10**10."""
    body = f"64{(number * 7_654_321 + offset) % 10**10:010d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return f"{body}{check}"


def _stock(rng: random.Random, fractional: bool) -> str:
    if rng.random() < 0.12:
        return "0.000" if fractional else "0"
    if fractional:
        milli = rng.randrange(1, 2_500_000)
        return f"{milli // 1000}.{milli % 1000:03d}"
    return str(int(rng.expovariate(1 / 60)) + 1)


def _variants(rng: random.Random, axes: str) -> list[tuple[str, list[tuple[str, str]], str]]:
    """(code suffix, attributes, name suffix) of each variant of a new model."""

    def run(values: tuple[str, ...], shortest: int, longest: int) -> tuple[str, ...]:
        length = rng.randint(shortest, longest)
        start = rng.randrange(len(values) - length + 1)
        return values[start : start + length]

    if axes == "SHOE":
        return [(s, [("Size", s)], f"koko {s}") for s in run(words.SHOE_SIZES, 4, 10)]
    if axes == "CLOTH_SIZE":
        return [(s, [("Size", s)], s) for s in run(words.CLOTHING_SIZES, 3, 7)]
    colours = rng.sample(words.COLOURS, rng.randint(2, 5) if axes == "COLOUR" else rng.randint(1, 3))
    if axes == "COLOUR":
        return [(code, [("Colour", value)], value.lower()) for value, code in colours]
    sizes = run(words.CLOTHING_SIZES, 3, 6)
    return [
        (f"{code}-{s}", [("Colour", value), ("Size", s)], f"{value.lower()}, {s}")
        for value, code in colours
        for s in sizes
    ]


def _product(rng: random.Random, serial: int, stamps: _Stamps, ean_offset: int) -> list[Record]:
    """One new product of the catalogue: a standalone item or a model's variants."""
    line = rng.choices(words.PRODUCT_LINES, cum_weights=_LINE_WEIGHTS)[0]
    base = rng.choice(line.names)
    name = f"{base} {rng.choice(words.SERIES)}" if line.axes or rng.random() < 0.5 else base
    features = " ".join(rng.sample(line.features, min(2, len(line.features))))
    description = None if rng.random() < 0.25 else f"{base}. {features}"
    if serial % 11 == 5:  # hostile texts, each kind in turn
        kind = serial // 11 % 8
        if kind < len(_ITEM_SUFFIXES):
            name += _ITEM_SUFFIXES[kind]
        elif kind == 5:
            name = unicodedata.normalize("NFD", f"{name} vähäpölyinen")
        elif kind == 6:
            name = _long(name)
        else:
            description = _long(description or base)
    lo, hi = line.price_range
    cents = rng.choice((90, 50, 95, 0, 15, 49))
    price = None if rng.random() < line.no_price_share else f"{rng.randint(lo, hi)}.{cents:02d}"
    fractional = line.unit in _FRACTIONAL_UNITS
    code = f"{line.prefix}-{serial:05d}"
    variants = _variants(rng, line.axes) if line.axes else [("", [], "")]
    model_status, model_stamp = _status(rng, 0.04, 0.02), stamps.next()
    records = []
    for index, (suffix, attributes, label) in enumerate(variants):
        status = _status(rng, 0.03, 0.01) if model_status == "ACTIVE" else model_status
        visible = rng.random() < (0.2 if status == "DELETED" else 0.93)
        ean = None if rng.random() < (0.5 if fractional else 0.1) else _ean(serial * 64 + index, ean_offset)
        stamp = model_stamp if rng.random() < 0.7 else stamps.next()
        model = (code, name) if line.axes else None
        records.append(
            _item(
                f"{code}-{suffix}" if suffix else code,
                f"{name}, {label}" if label else name,
                description,
                model,
                attributes,
                line.group,
                line.unit,
                ean,
                price,
                line.vat_rate,
                _stock(rng, fractional),
                visible,
                status,
                stamp,
            )
        )
    return records


def _special_items(rng: random.Random, stamps: _Stamps, ean_offset: int) -> list[Record]:
    launch = stamps.batches[0]  # the whole BOOT-PRO model was imported at once
    boots = [
        _item(
            f"BOOT-PRO-{size}",
            f"Turvakenkä Pro S3, koko {size}",
            "Kevyt S3-turvakenkä komposiittikärjellä ja naulaanastumissuojalla. 🥾",
            ("BOOT-PRO", "Turvakenkä Pro S3"),
            [("Size", size)],
            "FOOTWEAR",
            "pr",
            _ean(index, ean_offset),
            "59.90",
            "25.5",
            str(rng.randint(5, 200)) if size == "43" else _stock(rng, False),
            True,
            "ACTIVE",
            launch,
        )
        for index, size in enumerate(BOOT_PRO_SIZES)
    ]
    glove = _item(
        "GLOVE-WORK",
        "Työkäsine nitriili Grip",
        "Nitriilipinnoitettu työkäsine. Koot 7–11 valitaan verkkokaupassa.",
        None,
        [],
        "GLOVES",
        "pr",
        _ean(63, ean_offset),
        "4.15",
        "25.5",
        str(rng.randint(50, 900)),
        True,
        "ACTIVE",
        stamps.next(),
    )
    return [*boots, glove]


def _items(seed: int, count: int, epoch: datetime) -> Iterator[Record]:
    rng = _rng(seed, "items")
    stamps = _Stamps(rng, epoch, batches=min(200, max(4, count // 2500)), batch=0.25, bulk=0.10)
    ean_offset = rng.randrange(10**10)
    specials = _special_items(rng, stamps, ean_offset)
    yield from specials
    left = count - len(specials)
    for serial in itertools.count(1):
        if left <= 0:
            return
        product = _product(rng, serial, stamps, ean_offset)
        yield from product[:left]
        left -= len(product)


# --- customers and segments ------------------------------------------------------------------------


def _segments(seed: int, epoch: datetime) -> Iterator[Record]:
    rng = _rng(seed, "segments")
    stamps = _Stamps(rng, epoch, batches=1, batch=0.0, bulk=0.0)
    for index, (code, name, kind, price_list, status) in enumerate(SEGMENTS):
        imported = index < 2 or (status == "ACTIVE" and rng.random() < 0.7)  # set up in one batch
        yield {
            "segmentCode": code,
            "name": name,
            "customerType": kind,
            "priceListCode": price_list,
            "status": status,
            "dateModified": stamps.batches[0] if imported else stamps.random(),
        }


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in folded if c.isascii() and c.isalnum())


def _business_id(digits: str) -> str:
    """A Y-tunnus: `digits` (7) and its check digit; raises for the numbers that have none."""
    remainder = sum(int(d) * w for d, w in zip(digits, _Y_WEIGHTS, strict=True)) % 11
    if remainder == 1:
        raise ValueError(f"{digits} has no Y-tunnus check digit")
    return f"{digits}-{0 if remainder == 0 else 11 - remainder}"


def _with_vat(digits: str) -> tuple[str, str]:
    business_id = _business_id(digits)
    return business_id, f"FI{business_id.replace('-', '')}"


def _generated_business_id(index: int, offset: int) -> str:
    """Distinct per index below 900,000; the 7th digit is 0 or 1, which the special customers avoid."""
    base = (index * 7919 + offset) % 900_000 + 100_000
    try:
        return _business_id(f"{base}0")
    except ValueError:
        return _business_id(f"{base}1")


def _address(rng: random.Random, kind: str, name: str | None, foreign: bool) -> Record:
    if foreign:
        street, postal, city, country = rng.choice(words.FOREIGN_ADDRESSES)
    else:
        city, lo, hi = rng.choice(words.CITIES)
        street = f"{rng.choice(words.STREETS)} {rng.randint(1, 120)}{rng.choice(('', '', '', ' A 3', ' B'))}"
        postal, country = f"{rng.randrange(lo, hi + 1, 10):05d}", "FI"
    return {"type": kind, "name": name, "street": street, "postalCode": postal, "city": city, "countryCode": country}


def _customer_record(
    number: str,
    name: str,
    business_id: str | None,
    vat: str | None,
    email: str | None,
    phone: str | None,
    segments: list[str],
    price_list: str | None,
    terms: str | None,
    credit: str | None,
    blocked: bool,
    addresses: list[Record],
    contacts: list[Record],
    status: str,
    stamp: datetime,
) -> Record:
    return {
        "customerNumber": number,
        "name": name,
        "businessId": business_id,
        "vatNumber": vat,
        "email": email,
        "phone": phone,
        "segmentCodes": segments,
        "priceListCode": price_list,
        "paymentTermsCode": terms,
        "creditLimit": credit,
        "orderBlocked": blocked,
        "addresses": addresses,
        "contacts": contacts,
        "status": status,
        "dateModified": stamp,
    }


def _contact(number: str, index: int, name: str, email: str | None, role: str | None) -> Record:
    return {"contactId": f"{number}-{index}", "name": name, "email": email, "role": role}


def _special_customers(rng: random.Random, stamps: _Stamps) -> list[Record]:
    def billing(name: str, street: str, postal: str, city: str) -> Record:
        return {
            "type": "BILLING",
            "name": name,
            "street": street,
            "postalCode": postal,
            "city": city,
            "countryCode": "FI",
        }

    makinen = "Rakennus Oy Mäkinen & Poika"
    site = {**billing("Työmaa Kalasatama", "Capellan puistotie 3", "00580", "Helsinki"), "type": "DELIVERY"}
    contacts = [
        _contact("C10042", 1, "Matti Mäkinen", "matti.makinen@makinen.example", "ADMIN"),
        _contact("C10042", 2, "Pekka Mäkinen", "osto@makinen.example", "BUYER"),
    ]
    return [
        _customer_record(
            "C10042",
            makinen,
            *_with_vat("2345678"),
            "info@makinen.example",
            "+358 9 1234 5678",
            ["B2B-RAKENNUS"],
            "PL-RAKENNUS",
            "NET14",
            "20000.00",
            False,
            [billing(makinen, "Teollisuuskatu 12", "00510", "Helsinki"), site],
            contacts,
            "ACTIVE",
            stamps.batches[0],
        ),
        _customer_record(
            "C10666",
            "Purkutyö Laaksonen Oy",
            *_with_vat("3456782"),
            "laskutus@laaksonen.example",
            "040 666 1234",
            ["B2B-RAKENNUS"],
            "PL-RAKENNUS",
            "PREPAID",
            "0.00",
            True,
            [billing("Purkutyö Laaksonen Oy", "Sorvaajankatu 6", "00810", "Helsinki")],
            [_contact("C10666", 1, "Kari Laaksonen", "kari.laaksonen@laaksonen.example", "BUYER")],
            "ACTIVE",
            stamps.batches[0],
        ),
        _customer_record(
            "C10999",
            "Vanha Rakennus Oy",
            *_with_vat("4567893"),
            None,
            None,
            ["B2B-VANHA"],
            None,
            "NET30",
            None,
            False,
            [billing("Vanha Rakennus Oy", "Sahatie 2", "33100", "Tampere")],
            [_contact("C10999", 1, "Seppo Vanhanen", None, None)],
            "DELETED",
            stamps.random(),
        ),
    ]


def _shared_email(seed: int, pair: int, second: bool) -> tuple[str, str]:
    """(name, e-mail) of a bookkeeper who buys for two customers; odd pairs differ in letter case."""
    rng = _rng(seed, f"shared-email/{pair}")
    first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
    local = f"{_ascii(first)}.{_ascii(last)}"
    if second and pair % 2:
        local = local.capitalize()
    return f"{first} {last}", f"{local}@tilitoimisto-{pair}.example"


def _customer(rng: random.Random, seed: int, index: int, number: str, stamps: _Stamps, offset: int) -> Record:
    pair, slot = divmod(index, _SHARED_EMAIL_EVERY)
    hostile = index % 7 == 3
    r = rng.random()
    kind = "B2B" if slot < 2 or hostile or r < 0.7 else "RESELLER" if r < 0.8 else "CONSUMER"
    surname, first = rng.choice(words.LAST_NAMES), rng.choice(words.FIRST_NAMES)
    foreign = kind == "RESELLER" and rng.random() < 0.1
    billing = _address(rng, "BILLING", None, foreign)
    domain = f"{_ascii(surname)}{number[1:]}.example"
    if kind == "CONSUMER":
        name = f"{first} {surname}"
        segments = ["CONSUMER", "CONSUMER-STAFF"] if rng.random() < 0.1 else ["CONSUMER"]
        email: str | None = f"{_ascii(first)}.{_ascii(surname)}{number[1:]}@example.fi"
        contacts = [_contact(number, 1, name, email, "BUYER")] if rng.random() < 0.8 else []
        business_id = vat = credit = None
        terms = rng.choice(("PREPAID", None))
    else:
        patterns = words.B2B_COMPANY_PATTERNS if kind == "B2B" else words.RESELLER_COMPANY_PATTERNS
        name = rng.choice(patterns).format(s=surname, c=billing["city"])
        if hostile:  # each kind of hostile text in turn
            variant = index // 7 % 8
            if variant < len(words.HOSTILE_COMPANY_NAMES):
                name = words.HOSTILE_COMPANY_NAMES[variant].format(s=surname)
            else:
                name = unicodedata.normalize("NFD", f"Sähkö-Ääni {surname} Oy") if variant == 6 else _long(name)
        segments = rng.sample(_CODES_BY_TYPE[kind], rng.choices((1, 2, 3), (70, 22, 8))[0])
        email = None if rng.random() < 0.08 else f"{rng.choice(('info', 'laskutus', 'tilaukset'))}@{domain}"
        contacts = []
        wanted = rng.choices(range(6), (10, 30, 25, 15, 12, 8))[0]
        for n in range(1, max(wanted, slot < 2) + 1):
            person_first = rng.choice(words.FIRST_NAMES)
            person_last = surname if rng.random() < 0.3 else rng.choice(words.LAST_NAMES)
            address = f"{_ascii(person_first)}.{_ascii(person_last)}{n}@{domain}"
            role = rng.choice(("ADMIN", "ADMIN", "BUYER") if n == 1 else ("BUYER", "BUYER", "VIEWER", None))
            contacts.append(
                _contact(number, n, f"{person_first} {person_last}", None if rng.random() < 0.15 else address, role)
            )
        business_id = _generated_business_id(index, offset)
        vat = None if rng.random() < 0.05 else f"FI{business_id.replace('-', '')}"
        credit = None if rng.random() < 0.1 else rng.choice(words.CREDIT_LIMITS)
        terms = rng.choice(words.PAYMENT_TERMS)
    if slot < 2:
        person, shared = _shared_email(seed, pair, slot == 1)
        contacts[0] = _contact(number, 1, person, shared, "BUYER")
    if index % 29 == 11:
        segments[-1] = DANGLING_SEGMENT_CODES[index // 29 % len(DANGLING_SEGMENT_CODES)]
    r = rng.random()  # a few customers have no price list, or one of their own
    price_list = None if r < 0.05 else f"PL-{number}" if r < 0.15 else _PRICE_LISTS.get(segments[0])
    billing["name"] = name
    deliveries = rng.choices((0, 1, 2, 3), (35, 35, 20, 10) if kind != "CONSUMER" else (80, 20, 0, 0))[0]
    addresses = [billing]
    for _ in range(deliveries):
        site = rng.choice((None, "Varasto", f"Työmaa {rng.choice(words.SITES)}"))
        addresses.append(_address(rng, "DELIVERY", site, foreign))
    phone = None if rng.random() < 0.1 else f"0{rng.choice((40, 44, 50, 9))} {rng.randrange(1_000_000, 9_999_999)}"
    blocked, status = rng.random() < 0.03, _status(rng, 0.05, 0.02)
    return _customer_record(
        number,
        name,
        business_id,
        vat,
        email,
        phone,
        segments,
        price_list,
        terms,
        credit,
        blocked,
        addresses,
        contacts,
        status,
        stamps.next(),
    )


def _customers(seed: int, count: int, epoch: datetime) -> Iterator[Record]:
    rng = _rng(seed, "customers")
    stamps = _Stamps(rng, epoch, batches=min(200, max(3, count // 500)), batch=0.3, bulk=0.05)
    offset = rng.randrange(900_000)
    specials = _special_customers(rng, stamps)
    yield from specials
    numbers = (f"C{n}" for n in itertools.count(10001) if f"C{n}" not in SPECIAL_CUSTOMER_NUMBERS)
    for index, number in zip(range(count - len(specials)), numbers, strict=False):
        yield _customer(rng, seed, index, number, stamps, offset)
