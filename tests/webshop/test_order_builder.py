"""The simulated web shop's orders, from a tenant's published files (webshop/order_builder.py).

The files are the real ones: the stand-in's seed records made into catalogue, accounts, logins and
rights by the shop's own functions and written by `publish`, as the demo's shop job does. Each kind of
order is then judged by the real judges: the intake's schema and rules, the rights at its door, the
SalesOrder mapping, and the stand-in's Message API checks (which decide what Sonet refuses).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sonet_pipeline.common.blobs import FolderBlobs
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import Tenant, load_tenants, tenant_by_name
from sonet_pipeline.orders.sales_order_xml import BuiltMessage, build_sales_order
from sonet_pipeline.orders.validation import validate_order
from sonet_pipeline.outbox.model import format_instant
from sonet_pipeline.prices.lines import active_lines
from sonet_pipeline.prices.order_check import check_order_prices
from sonet_pipeline.prices.resolution import PriceBook
from sonet_pipeline.rights.accounts import build_accounts
from sonet_pipeline.rights.book import NotAllowed, RightsBook
from sonet_pipeline.rights.rules import rights_matrix
from sonet_pipeline.shop.catalogue import build_catalogue
from sonet_pipeline.shop.prices import prices_file
from sonet_pipeline.shop.publish import publish
from sonet_pipeline.standin.sales_order_check import CheckedOrder, CustomerView, Rejection, check_sales_order
from sonet_pipeline.standin.seed_data import generate_company
from sonet_pipeline.standin.seed_price_lists import generate_price_list_lines
from sonet_pipeline.webshop.order_builder import (
    REFUSED_AT_DOOR,
    REFUSED_BY_SONET,
    VALID,
    NothingToOrder,
    OrderBuilder,
    ShopOrder,
    orderable_products,
)
from sonet_pipeline.webshop.published import PublishedFilesError, PublishedShop, read_published

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


class World:
    """A tenant's Sonet records, its published files, and the judges of an order."""

    def __init__(self, tenant: Tenant, folder: Path) -> None:
        company = generate_company(3, items=400)
        self.items = [_snapshot(r) for r in company.items]
        self.customers = [_snapshot(r) for r in company.customers]
        self.segments = [_snapshot(r) for r in company.customer_segments]
        self.lines = [
            _snapshot(r) for r in generate_price_list_lines(3, items=self.items, customers=self.customers, epoch=NOW)
        ]
        self.tenant = tenant
        catalogue = build_catalogue(self.items, strategy=tenant.variant_strategy, shop=tenant.shop)
        accounts = build_accounts(self.customers, self.segments)
        files = {
            "catalogue": catalogue.products,
            "accounts": accounts.accounts,
            "logins": accounts.logins,
            "rights": rights_matrix(accounts, tenant.shop.rights),
            "prices": prices_file(self.lines, NOW, timedelta(days=7)).records,
        }
        self.files = FolderBlobs(folder)
        publish(self.files, files, tenant=tenant.name, source={}, now=NOW)
        self.book = RightsBook.build(self.customers, self.segments, tenant.shop.rights)
        self.item_status = {r["itemCode"]: r["status"] for r in self.items}
        self.customer_view = {
            r["customerNumber"]: CustomerView(r["status"], bool(r["orderBlocked"])) for r in self.customers
        }

    def price_mismatches(self, order: dict[str, Any]) -> list[str]:
        """The intake's price check (prices/order_check) on the order, as it judges it at the door."""
        accounts = {a["accountId"]: a for a in build_accounts(self.customers, self.segments).accounts}
        customer = order["customer"]
        price_list = accounts[customer["customerNumber"]]["priceListCode"] if customer["kind"] == "account" else None
        items = {r["itemCode"]: r for r in self.items}
        book = PriceBook(active_lines(self.lines))
        return [m.describe() for m in check_order_prices(order, book, items, price_list)]

    def shop(self) -> PublishedShop:
        shop = read_published(self.files)
        assert shop is not None
        return shop

    def at_door(self, order: dict[str, Any]) -> NotAllowed | None:
        """The intake's verdict: the schema and rules, then (account orders) the published rights."""
        assert validate_order(order) == [], validate_order(order)
        if order["customer"]["kind"] == "guest":
            return None
        return self.book.judge(order["customer"], lambda: _net(order))

    def sonet(self, order: dict[str, Any]) -> CheckedOrder | Rejection:
        """The stand-in's Message API on the SalesOrder the sender would build."""
        built = build_sales_order(order, message_id="demo-0000-0001", variant_attributes=lambda code: None)
        assert isinstance(built, BuiltMessage), built
        return check_sales_order(
            built.xml,
            "application/xml",
            item_status=self.item_status.get,
            customer=self.customer_view.get,
        )


@pytest.fixture(scope="module", params=["acme", "nordic"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    tenant = tenant_by_name(load_tenants(settings.demo_tenants_file()), request.param)
    return World(tenant, tmp_path_factory.mktemp(request.param))


def test_valid_orders_pass_the_door_and_sonet_accepts_them(world: World):
    """Every valid order is schema-valid, allowed by the published rights, and accepted by Sonet."""
    builder = OrderBuilder(world.shop())
    rng = random.Random(5)
    customers = set()
    for n in range(150):
        order = builder.valid(f"W-{n}", NOW, rng)
        assert order.kind == VALID and order.expected_error is None
        assert world.at_door(order.order) is None, order.order["customer"]
        assert isinstance(world.sonet(order.order), CheckedOrder)
        customers.add(order.order["customer"]["kind"])
        assert order.order["createdAt"] == "2026-12-07T06:00:00Z" and order.number == f"W-{n}"
    assert customers == {"account", "guest"}


def test_account_orders_name_a_login_of_their_account_and_use_its_addresses(world: World):
    shop = world.shop()
    builder = OrderBuilder(shop)
    order = builder.valid("W-1", NOW, random.Random(1), guest=False).order
    customer = order["customer"]
    logins = [lg for lg in shop.logins.values() if lg["contactId"] == customer["contactId"]]
    assert [lg["accountId"] for lg in logins] == [customer["customerNumber"]]
    addresses = shop.accounts[customer["customerNumber"]]["addresses"]
    if addresses:
        assert order["billingAddress"] in [{k: a[k] for k in order["billingAddress"]} for a in addresses]


def test_lines_are_what_the_catalogue_sells_a_guest_at_its_price(world: World):
    """Lines are what the catalogue sells; a guest pays its price (an account its own: the test below)."""
    shop = world.shop()
    sold = {(p.sku, p.unit_price, tuple(sorted(p.variant))) for p in orderable_products(shop.catalogue)}
    rng = random.Random(9)
    for n in range(50):
        order = OrderBuilder(shop).valid(f"W-{n}", NOW, rng).order
        for line in order["lines"]:
            variant = tuple(sorted((line.get("variant") or {}).items()))
            assert (line["sku"], variant) in {(sku, attributes) for sku, _, attributes in sold}
            if order["customer"]["kind"] == "guest":
                assert (line["sku"], line["unitPrice"], variant) in sold
            assert 1 <= int(line["quantity"]) <= 5


def test_options_are_ordered_by_their_item_with_the_chosen_values(world: World):
    """A comment-field option (GLOVE-WORK in both demo tenants) is its item's code plus `variant`."""
    products = orderable_products(world.shop().catalogue)
    gloves = [p for p in products if p.sku == "GLOVE-WORK"]
    assert gloves and all(p.variant and p.variant[0][0] == "Size" for p in gloves)


def test_the_order_sonet_refuses_passes_the_door_and_sonet_answers_unknown_item(world: World):
    builder = OrderBuilder(world.shop())
    for n in range(10):
        order = builder.refused_by_sonet(f"R-{n}", NOW, random.Random(n))
        assert order.kind == REFUSED_BY_SONET and order.expected_error == "UNKNOWN_ITEM"
        assert world.at_door(order.order) is None
        answer = world.sonet(order.order)
        assert isinstance(answer, Rejection) and answer.code == "UNKNOWN_ITEM", answer


def test_the_order_refused_at_the_door_is_not_allowed_by_the_published_rights(world: World):
    builder = OrderBuilder(world.shop())
    assert builder.refused_buyers, "the demo tenants have logins that may not order"
    for n in range(10):
        order = builder.refused_at_door(f"D-{n}", NOW, random.Random(n))
        assert isinstance(order, ShopOrder) and order.kind == REFUSED_AT_DOOR
        assert order.expected_error == "NOT_ALLOWED"
        assert isinstance(world.at_door(order.order), NotAllowed)


def test_without_logins_that_may_not_order_a_stranger_is_refused_at_the_door(world: World):
    builder = OrderBuilder(world.shop())
    builder.refused_buyers = []
    order = builder.refused_at_door("D-1", NOW, random.Random(1))
    assert order is not None
    verdict = world.at_door(order.order)
    assert isinstance(verdict, NotAllowed) and verdict.rule == "no_login"


def test_a_login_with_an_order_limit_orders_under_it():
    limit = Decimal("30.00")
    shop = _small_shop(prices=["12.50", "9.99", "25.00", "40.00"], order_limit=str(limit))
    builder = OrderBuilder(shop, guests=False)
    for n in range(40):
        order = builder.valid(f"L-{n}", NOW, random.Random(n)).order
        assert order["customer"]["kind"] == "account"
        assert _net(order) <= limit


def test_no_guest_orders_when_the_tenant_takes_none():
    shop = _small_shop(prices=["5.00"], order_limit=None)
    builder = OrderBuilder(shop, guests=False)
    kinds = {builder.valid(f"G-{n}", NOW, random.Random(n)).order["customer"]["kind"] for n in range(30)}
    assert kinds == {"account"}
    assert builder.refused_by_sonet("G-x", NOW, random.Random(1)).order["customer"]["kind"] == "account"
    with pytest.raises(NothingToOrder):
        builder.valid("G-y", NOW, random.Random(1), guest=True)


def test_nothing_to_order_without_a_priced_product():
    shop = _small_shop(prices=[None], order_limit=None)
    with pytest.raises(NothingToOrder, match="nothing at a price"):
        OrderBuilder(shop).valid("N-1", NOW, random.Random(1))


def test_files_not_published_yet_read_as_none_and_a_broken_file_is_named(tmp_path: Path):
    files = FolderBlobs(tmp_path)
    assert read_published(files) is None
    publish(files, {"catalogue": [], "accounts": [], "logins": [], "rights": []}, tenant="t", source={}, now=NOW)
    shop = read_published(files)
    assert shop is not None and shop.catalogue == () and not shop.logins and not shop.rights
    (tmp_path / "logins.jsonl").write_text('{"login": "a"}\nnot json\n')
    with pytest.raises(PublishedFilesError, match=r"logins\.jsonl line 2"):
        read_published(files)


# --- helpers ---------------------------------------------------------------------------------------


def _snapshot(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "dateModified": format_instant(record["dateModified"])}


def _net(order: dict[str, Any]) -> Decimal:
    cent = Decimal("0.01")
    return sum(
        (Decimal(line["quantity"]) * Decimal(line["unitPrice"])).quantize(cent) for line in order["lines"]
    ) or Decimal(0)


def _small_shop(*, prices: list[str | None], order_limit: str | None) -> PublishedShop:
    catalogue = tuple(
        {"sku": f"IT{n}", "type": "simple", "itemCode": f"IT{n}", "price": price, "currency": "EUR",
         "vatRate": "25.5", "variants": []}
        for n, price in enumerate(prices)
    )  # fmt: skip
    account = {"accountId": "C1", "name": "Oy Ab", "orderBlocked": False, "addresses": []}
    login = {"login": "buyer@c1.example", "email": "buyer@c1.example", "accountId": "C1", "contactId": "C1-1"}
    rights = ({"login": "buyer@c1.example", "accountId": "C1", "canOrder": True, "orderLimit": order_limit},)
    return PublishedShop(("v",), catalogue, {"C1": account}, {"buyer@c1.example": login}, rights)


def test_valid_orders_are_at_each_buyers_price_from_the_published_prices(world: World):
    """Account orders are priced from `prices.jsonl` by the account's list (quantity breaks included),
    so the intake's price check finds none of them off; some do use a list's price, not the catalogue's."""
    shop = world.shop()
    assert shop.prices, "the publish holds prices.jsonl"
    builder = OrderBuilder(shop)
    rng = random.Random(11)
    differs_from_catalogue = 0
    catalogue = {p.sku: p.unit_price for p in builder.products}
    for n in range(200):
        order = builder.valid(f"W-{n}", NOW, rng, guest=False).order
        assert world.price_mismatches(order) == [], order
        differs_from_catalogue += sum(line["unitPrice"] != catalogue[line["sku"]] for line in order["lines"])
    assert differs_from_catalogue > 0
