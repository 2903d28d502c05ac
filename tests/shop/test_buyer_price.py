"""A buyer's price from the published files alone (what `shop price` answers): the account's list, the
catalogue's sku, the lines of `prices.jsonl`: pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sonet_pipeline.prices.resolution import LINE, LIST_PRICE, NOT_SOLD, ON_REQUEST
from sonet_pipeline.shop.buyer_price import buyer_price, sold_skus
from sonet_pipeline.shop.prices import prices_file
from tests.prices.test_resolution import line

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CATALOGUE = [
    {"sku": "BOOT-PRO", "type": "configurable", "currency": "EUR", "price": "59.90", "variants": [
        {"sku": "BOOT-PRO-43", "type": "variant", "itemCode": "BOOT-PRO-43", "price": "59.90"},
        {"sku": "BOOT-PRO-44", "type": "variant", "itemCode": "BOOT-PRO-44", "price": None},
    ]},
    {"sku": "GLOVE-WORK", "type": "configurable", "currency": "EUR", "price": "4.50", "variants": [
        {"sku": "GLOVE-WORK/8", "type": "option", "itemCode": "GLOVE-WORK", "price": "4.50"},
    ]},
    {"sku": "TAPE", "type": "simple", "itemCode": "TAPE", "currency": "EUR", "price": "2.00", "variants": []},
]  # fmt: skip
PRICES = prices_file(
    [
        line("PLL-1", "52.90", item="BOOT-PRO-43", price_list="PL-A"),
        line("PLL-2", "49.90", item="BOOT-PRO-43", price_list="PL-A", minimum="10"),
        line("PLL-3", "44.90", item="BOOT-PRO-43", price_list="PL-A", start="2026-12-10T00:00:00Z"),
        line("PLL-4", "689.00", item="BOOT-PRO-43", price_list="PL-EXPORT", currency="SEK"),
        line("PLL-5", "3.20", item="GLOVE-WORK", price_list="PL-A"),
    ],
    NOW,
    timedelta(days=7),
).records
BUYER = {"accountId": "C10042", "priceListCode": "PL-A"}


def price(account: dict, sku: str, quantity: str = "1", at: datetime = NOW, **options: str) -> dict:
    sold, _ = sold_skus(CATALOGUE)
    return buyer_price(account, sold.get(sku), sku, PRICES, Decimal(quantity), at, **options).as_json()


def test_skus_of_variants_options_and_simple_products_are_sold_configurables_are_not() -> None:
    sold, models = sold_skus(CATALOGUE)
    assert set(sold) == {"BOOT-PRO-43", "BOOT-PRO-44", "GLOVE-WORK/8", "TAPE"}
    assert sold["GLOVE-WORK/8"].item_code == "GLOVE-WORK" and sold["GLOVE-WORK/8"].currency == "EUR"
    assert models == {"BOOT-PRO": ["BOOT-PRO-43", "BOOT-PRO-44"], "GLOVE-WORK": ["GLOVE-WORK/8"]}


def test_the_line_of_the_accounts_list_decides_by_quantity_and_instant() -> None:
    answer = price(BUYER, "BOOT-PRO-43")
    assert (answer["price"], answer["currency"], answer["source"]) == ("52.90", "EUR", LINE)
    assert answer["line"]["lineId"] == "PLL-1" and answer["note"] == "line PLL-1 of price list PL-A"
    assert answer["priceListCode"] == "PL-A" and answer["itemCode"] == "BOOT-PRO-43" and answer["quantity"] == "1"
    assert price(BUYER, "BOOT-PRO-43", "10")["line"]["lineId"] == "PLL-2"
    campaign = price(BUYER, "BOOT-PRO-43", at=datetime(2026, 12, 10, tzinfo=UTC))
    assert (campaign["price"], campaign["line"]["lineId"]) == ("44.90", "PLL-3")
    assert price(BUYER, "GLOVE-WORK/8")["price"] == "3.20"  # an option is priced by its item's lines
    export = price({"accountId": "C2", "priceListCode": "PL-EXPORT"}, "BOOT-PRO-43")
    assert (export["price"], export["currency"]) == ("689.00", "SEK")


def test_without_a_line_the_list_price_or_on_request_and_a_sku_not_sold() -> None:
    no_list = price({"accountId": "C1", "priceListCode": None}, "BOOT-PRO-43")
    assert (no_list["price"], no_list["source"], no_list["line"]) == ("59.90", LIST_PRICE, None)
    assert no_list["note"] == "the item's list price: the account has no price list"
    unlisted = price(BUYER, "TAPE")
    assert unlisted["source"] == LIST_PRICE and "no line of price list PL-A applies" in unlisted["note"]
    on_request = price(BUYER, "BOOT-PRO-44")
    assert (on_request["price"], on_request["currency"], on_request["source"]) == (None, "EUR", ON_REQUEST)
    gone = price(BUYER, "OLD-1", not_sold_because="the item is PASSIVE in Sonet")
    assert (gone["price"], gone["source"], gone["note"]) == (None, NOT_SOLD, "not sold: the item is PASSIVE in Sonet")
