"""Orders a buyer of the web shop could place, built from the tenant's published files.

Pure: a `PublishedShop`, a random source and the instant in; an order in the shape of
`commerce-order.schema.json` out, with the kind of order it is meant to be:

- `valid`: 1 to 4 lines of what the catalogue sells at a price (a simple product's item, a variant's
  own item, or an option's item with the chosen axis values as `variant`), quantities 1 to 5, placed by
  a login whose published rights let it order (its contactId, its account's addresses, under its order
  limit), or by a guest. The intake takes it and Sonet accepts it.
- `refused_by_sonet`: as valid, but its first line is a product the shop still lists after Sonet
  dropped the item (`RETIRED-...`, a code Sonet never gives). The intake takes it (it judges the order,
  not the catalogue); Sonet's Message API answers UNKNOWN_ITEM and the order ends `failed`.
- `refused_at_door`: an account order by a login whose published rights say it may not order (a
  viewer, a blocked customer), else by a contact that is no published login, else (when the tenant
  takes no guest orders) a guest's: the intake answers 422 NOT_ALLOWED and stores nothing.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sonet_pipeline.webshop.buyer_prices import buyer_price
from sonet_pipeline.webshop.published import PublishedShop

OrderKind = Literal["valid", "refused_by_sonet", "refused_at_door"]
VALID: OrderKind = "valid"
REFUSED_BY_SONET: OrderKind = "refused_by_sonet"
REFUSED_AT_DOOR: OrderKind = "refused_at_door"
#: What each kind of order ends as: None accepted by Sonet; else the error code that refuses it.
EXPECTED_ERROR: dict[OrderKind, str | None] = {
    VALID: None,
    REFUSED_BY_SONET: "UNKNOWN_ITEM",
    REFUSED_AT_DOOR: "NOT_ALLOWED",
}
RETIRED_PREFIX = "RETIRED-"

# The shapes `commerce-order.schema.json` and Sonet's codes allow: values that fit none are not offered.
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/]{0,39}")
_PRICE = re.compile(r"[0-9]+(\.[0-9]{1,4})?")
_RATE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_ADDRESS_LIMITS = {"name": 200, "street": 200, "postalCode": 12, "city": 200}

_FIRST_NAMES = ("Aino", "Eero", "Helmi", "Ilmari", "Kaisa", "Lauri", "Mikko", "Noora", "Sanna", "Väinö")
_LAST_NAMES = ("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Lehtonen", "Heikkinen", "Järvinen", "Lindqvist")
_STREETS = ("Kauppakatu", "Rantatie", "Koivukuja", "Myllytie", "Asemakatu", "Puistokatu")
_CITIES = (("00100", "Helsinki"), ("33100", "Tampere"), ("20100", "Turku"), ("90100", "Oulu"), ("40100", "Jyväskylä"))
_DELIVERY_METHODS = ("POSTI", "MATKAHUOLTO", "NOUTO")
_GUEST_PAYMENTS = ("CARD", "MOBILEPAY")
_ASCII = str.maketrans("äöå", "aoa")


class NothingToOrder(ValueError):
    """The published files offer nothing to order (no product with a price, or no one to place it)."""


@dataclass(frozen=True)
class Product:
    """One thing a buyer can put in the basket, as an order line names it."""

    sku: str  # Sonet's itemCode: a simple product's, a variant's own, or an option's shared item
    unit_price: str  # as the catalogue publishes it (Sonet's text)
    vat_rate: str
    currency: str
    variant: tuple[tuple[str, str], ...]  # the chosen attributes; () for a simple product


@dataclass(frozen=True)
class Buyer:
    """A published login and its account; `limit` is its rights' order limit (net, VAT excluded)."""

    account: Mapping[str, Any]
    login: Mapping[str, Any]
    limit: Decimal | None


@dataclass(frozen=True)
class ShopOrder:
    """An order the web shop posts, the kind it is meant to be, and why (for a person)."""

    kind: OrderKind
    order: dict[str, Any]
    note: str

    @property
    def number(self) -> str:
        return str(self.order["orderNumber"])

    @property
    def expected_error(self) -> str | None:
        return EXPECTED_ERROR[self.kind]


def orderable_products(catalogue: Sequence[Mapping[str, Any]]) -> list[Product]:
    """Every line the catalogue sells at a price: simple products, and each variant or option."""
    products: list[Product] = []
    for line in catalogue:
        vat_rate, currency = line.get("vatRate"), line.get("currency")
        if not (_fits(_RATE, vat_rate) and _fits(_CURRENCY, currency)):
            continue
        if line.get("type") == "simple":
            choices: list[tuple[Any, Any, Any]] = [(line.get("itemCode"), line.get("price"), [])]
        else:
            choices = [
                (v.get("itemCode"), v.get("price"), v.get("attributes") or []) for v in line.get("variants") or []
            ]
        for item_code, price, attributes in choices:
            variant = _variant(attributes)
            if _fits(_CODE, item_code) and _fits(_PRICE, price) and variant is not None:
                products.append(Product(item_code, price, str(vat_rate), str(currency), variant))
    return products


def buyers(shop: PublishedShop) -> tuple[list[Buyer], list[Buyer]]:
    """The published logins that may order, and those that may not (rights row, login and account known)."""
    may: list[Buyer] = []
    may_not: list[Buyer] = []
    for row in shop.rights:
        login, account = shop.logins.get(str(row.get("login"))), shop.accounts.get(str(row.get("accountId")))
        if login is None or account is None or not _fits(_CODE, login.get("contactId")):
            continue
        limit = row.get("orderLimit")
        buyer = Buyer(account, login, Decimal(limit) if isinstance(limit, str) and _fits(_PRICE, limit) else None)
        (may if row.get("canOrder") is True and not account.get("orderBlocked") else may_not).append(buyer)
    return may, may_not


class OrderBuilder:
    """Builds the three kinds of order from one publish of a tenant's files; `guests` says whether the
    tenant takes guest orders (its `order_rights.guest_orders`, which the shop's files do not carry)."""

    def __init__(self, shop: PublishedShop, *, guests: bool = True) -> None:
        products = orderable_products(shop.catalogue)
        currencies = Counter(p.currency for p in products)
        self.currency = currencies.most_common(1)[0][0] if currencies else None
        self.products = [p for p in products if p.currency == self.currency]
        self.buyers, self.refused_buyers = buyers(shop)
        self.accounts = list(shop.accounts.values())
        self.guests = guests
        self.prices = shop.prices

    def valid(self, number: str, created_at: datetime, rng: random.Random, *, guest: bool | None = None) -> ShopOrder:
        """An order Sonet accepts; `guest` True or False asks for that kind of customer (None: either)."""
        if not self.products:
            raise NothingToOrder("the catalogue sells nothing at a price")
        if guest is None:
            guest = not self.buyers or (self.guests and rng.random() < 0.3)
        if guest and not self.guests:
            raise NothingToOrder("the tenant takes no guest orders")
        if not guest and not self.buyers:
            raise NothingToOrder("no published login may order")
        if guest:
            return ShopOrder(VALID, self._guest_order(number, created_at, rng), "a guest's order")
        buyer = rng.choice(self.buyers)
        order = self._account_order(number, created_at, rng, buyer)
        return ShopOrder(VALID, order, f"an order of account {buyer.account['accountId']}")

    def refused_by_sonet(self, number: str, created_at: datetime, rng: random.Random) -> ShopOrder:
        """An order the intake takes and Sonet refuses (UNKNOWN_ITEM): its first line's item is gone."""
        order = self.valid(number, created_at, rng, guest=self.guests or None).order
        first = order["lines"][0]
        code = f"{RETIRED_PREFIX}{rng.randrange(10**6):06d}"
        order["lines"][0] = {"sku": code, "quantity": "1", "unitPrice": first["unitPrice"], "vatRate": first["vatRate"]}
        return ShopOrder(REFUSED_BY_SONET, order, f"Sonet has no item {code}")

    def refused_at_door(self, number: str, created_at: datetime, rng: random.Random) -> ShopOrder | None:
        """An order the intake refuses (NOT_ALLOWED) by the published rights; None when no order can be."""
        if not self.products:
            raise NothingToOrder("the catalogue sells nothing at a price")
        if self.refused_buyers:
            buyer = rng.choice(self.refused_buyers)
            order = self._account_order(number, created_at, rng, buyer)
            return ShopOrder(REFUSED_AT_DOOR, order, f"login {buyer.login.get('login')} may not order")
        if self.accounts:
            account = rng.choice(self.accounts)
            stranger = Buyer(account, {"contactId": f"{account['accountId']}-X{rng.randrange(1000):03d}"}, None)
            order = self._account_order(number, created_at, rng, stranger)
            return ShopOrder(REFUSED_AT_DOOR, order, "a contact that is no published login")
        if not self.guests:
            return ShopOrder(REFUSED_AT_DOOR, self._guest_order(number, created_at, rng), "the tenant takes no guests")
        return None

    # -- the parts of an order -------------------------------------------------------------------------

    def _account_order(self, number: str, created_at: datetime, rng: random.Random, buyer: Buyer) -> dict[str, Any]:
        customer: dict[str, Any] = {"kind": "account", "customerNumber": str(buyer.account["accountId"])}
        customer["contactId"] = buyer.login["contactId"]
        if isinstance(email := buyer.login.get("email"), str) and len(email) <= 200:
            customer["email"] = email
        addresses = [a for a in buyer.account.get("addresses") or [] if _complete(a)]
        billing = next((a for a in addresses if a.get("type") == "BILLING"), None) or (addresses or [None])[0]
        deliveries = [a for a in addresses if a.get("type") == "DELIVERY"] or ([billing] if billing else [])
        name = str(buyer.account.get("name") or buyer.account["accountId"])[:200]
        billing_address = _address(billing) if billing else _made_up_address(name, rng)
        delivery = _address(rng.choice(deliveries)) if deliveries else billing_address
        price_list = buyer.account.get("priceListCode")
        order = self._order(
            number, created_at, rng, customer, billing_address, delivery, buyer.limit, price_list=price_list
        )
        order["paymentMethod"] = "INVOICE"
        if rng.random() < 0.5:
            order["customerReference"] = f"PO-{rng.randrange(10000, 100000)}"
        return order

    def _guest_order(self, number: str, created_at: datetime, rng: random.Random) -> dict[str, Any]:
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        name = f"{first} {last}"
        email = f"{_ascii(first)}.{_ascii(last)}{rng.randrange(100)}@example.fi"
        customer = {"kind": "guest", "name": name, "email": email, "phone": f"040 {rng.randrange(10**7):07d}"}
        address = _made_up_address(name, rng)
        order = self._order(number, created_at, rng, customer, address, address, None)
        order["paymentMethod"] = rng.choice(_GUEST_PAYMENTS)
        return order

    def _order(
        self,
        number: str,
        created_at: datetime,
        rng: random.Random,
        customer: dict[str, Any],
        billing: dict[str, str],
        delivery: dict[str, str],
        limit: Decimal | None,
        *,
        price_list: object = None,
    ) -> dict[str, Any]:
        """The order; its lines at the buyer's price (`price_list`'s, as `prices.jsonl` has it at `created_at`)."""

        def price(product: Product, quantity: int) -> str:
            if not isinstance(price_list, str):
                return product.unit_price
            found = buyer_price(self.prices, price_list, product.sku, Decimal(quantity), created_at)
            return found[0] if found is not None and found[1] == self.currency else product.unit_price

        return {
            "orderNumber": number,
            "createdAt": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "currency": self.currency,
            "customer": customer,
            "billingAddress": billing,
            "deliveryAddress": delivery,
            "deliveryMethod": rng.choice(_DELIVERY_METHODS),
            "paymentMethod": "INVOICE",
            "lines": self._lines(rng, limit, price),
        }

    def _lines(
        self, rng: random.Random, limit: Decimal | None, price: Callable[[Product, int], str]
    ) -> list[dict[str, Any]]:
        """1 to 4 distinct products, 1 to 5 of each, each at `price`; under `limit` (net) by fewer lines,
        then quantity 1."""
        products = self.products
        if limit is not None:
            products = [p for p in products if Decimal(p.unit_price) <= limit] or products
        chosen = rng.sample(products, min(len(products), rng.randint(1, 4)))
        quantities = [rng.randint(1, 5) for _ in chosen]
        while limit is not None and _net(chosen, quantities, price) > limit:
            if len(chosen) > 1:
                chosen, quantities = chosen[:-1], quantities[:-1]
            elif quantities[0] > 1:
                quantities = [1]
            else:
                break  # one of the cheapest is over the limit: the door will say so
        return [_line(product, q, price(product, q)) for product, q in zip(chosen, quantities, strict=True)]


def _line(product: Product, quantity: int, unit_price: str) -> dict[str, Any]:
    line: dict[str, Any] = {
        "sku": product.sku,
        "quantity": str(quantity),
        "unitPrice": unit_price,
        "vatRate": product.vat_rate,
    }
    if product.variant:
        line["variant"] = dict(product.variant)
    return line


def _net(products: Sequence[Product], quantities: Sequence[int], price: Callable[[Product, int], str]) -> Decimal:
    """The order's net as the SalesOrder's `Net`: each line's total rounded half up to cents, summed."""
    cent = Decimal("0.01")
    return sum(
        (
            (Decimal(price(p, q)) * q).quantize(cent, rounding=ROUND_HALF_UP)
            for p, q in zip(products, quantities, strict=True)
        ),
        Decimal(0),
    )


def _variant(attributes: object) -> tuple[tuple[str, str], ...] | None:
    """The attributes as an order line's `variant` (at most 10, values up to 80 characters); None when
    they cannot be one."""
    if not isinstance(attributes, list) or len(attributes) > 10:
        return None
    pairs: dict[str, str] = {}
    for pair in attributes:
        name, value = (pair.get("name"), pair.get("value")) if isinstance(pair, Mapping) else (None, None)
        if not isinstance(name, str) or not isinstance(value, str) or len(value) > 80 or name in pairs:
            return None
        pairs[name] = value
    return tuple(pairs.items())


def _complete(address: object) -> bool:
    if not isinstance(address, Mapping) or not _fits(_COUNTRY, address.get("countryCode")):
        return False
    return all(
        isinstance(value := address.get(key), str) and value.strip() and len(value) <= most
        for key, most in _ADDRESS_LIMITS.items()
    )


def _address(address: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(address[key]) for key in (*_ADDRESS_LIMITS, "countryCode")}


def _made_up_address(name: str, rng: random.Random) -> dict[str, str]:
    postal_code, city = rng.choice(_CITIES)
    street = f"{rng.choice(_STREETS)} {rng.randint(1, 120)}"
    return {"name": name, "street": street, "postalCode": postal_code, "city": city, "countryCode": "FI"}


def _fits(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _ascii(text: str) -> str:
    return text.lower().translate(_ASCII)
