"""The stand-in's seed price list lines (contract 1.1): deterministic, shaped as `PriceListLine`, and as
varied and dirty as a merchant's price lists. Pure: no server."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

import graphql

from sonet_pipeline.contract import graphql_sdl
from sonet_pipeline.standin.seed_data import DEFAULT_EPOCH, MISSING_ITEM_CODE, SEGMENTS, generate_company
from sonet_pipeline.standin.seed_price_lists import BULK_LISTS, SPECIAL_LINES, generate_price_list_lines
from tests.standin.test_seed_data import conform

Records = list[dict]


@cache
def seeded(seed: int, items: int) -> tuple[Records, Records, Records]:
    """(items, customers, lines); shared between tests, so never mutate them."""
    data = generate_company(seed, items=items)
    item_records, customers = list(data.items), list(data.customers)
    lines = list(generate_price_list_lines(seed, items=item_records, customers=customers))
    return item_records, customers, lines


def test_lines_have_every_field_of_price_list_line_with_its_type():
    """Every line has exactly the fields of the contract's PriceListLine, typed, nulls only where nullable;
    lineIds are unique and every dateModified lies in the year before the epoch."""
    of_type = graphql.GraphQLNonNull(graphql.build_schema(graphql_sdl()).get_type("PriceListLine"))
    _, _, lines = seeded(7, 2000)
    for line in lines:
        conform(line, of_type, line["lineId"])
        assert DEFAULT_EPOCH - timedelta(days=365) <= line["dateModified"] < DEFAULT_EPOCH
    assert len({line["lineId"] for line in lines}) == len(lines)


def test_same_seed_same_lines_whatever_order_the_records_come_in():
    """The lines depend on the seed and the records, not on their order (the stand-in reads its state)."""
    items, customers, lines = seeded(3, 600)
    shuffled_items, shuffled_customers = items[:], customers[:]
    random.Random(1).shuffle(shuffled_items)
    random.Random(2).shuffle(shuffled_customers)
    again = generate_price_list_lines(3, items=shuffled_items, customers=shuffled_customers)
    assert list(again) == lines
    assert seeded(4, 600)[2] != lines


def test_the_lists_are_those_the_segments_and_customers_name_with_an_export_list_in_sek():
    """One list per segment's priceListCode, a customer's own lists, PL-EXPORT in SEK (items are EUR)."""
    _, customers, lines = seeded(7, 2000)
    codes = {line["priceListCode"] for line in lines}
    assert {code for *_, code, _ in SEGMENTS if code} <= codes
    own = {c["priceListCode"] for c in customers if (c["priceListCode"] or "").startswith("PL-C")}
    assert own and own <= codes
    assert {line["currency"] for line in lines if line["priceListCode"] == "PL-EXPORT"} == {"SEK"}
    assert {line["currency"] for line in lines if line["priceListCode"] != "PL-EXPORT"} == {"EUR"}


def test_breaks_campaigns_future_prices_and_items_not_sold_are_there():
    """Quantity breaks, an expired campaign, a price valid from a future instant, lines of unknown and of
    PASSIVE or DELETED items, PASSIVE and DELETED lines, and ACTIVE lines that tie."""
    items, _, lines = seeded(7, 2000)
    now = datetime(2026, 11, 28, tzinfo=UTC)
    status = {item["itemCode"]: item["status"] for item in items}
    assert {"10", "50", "100"} <= {line["minQuantity"] for line in lines}
    assert any(line["validTo"] is not None and line["validTo"] < now for line in lines)
    assert any(line["validFrom"] is not None and line["validFrom"] > now for line in lines)
    assert {MISSING_ITEM_CODE} < {line["itemCode"] for line in lines if line["itemCode"] not in status}
    assert {"PASSIVE", "DELETED"} <= {status[line["itemCode"]] for line in lines if line["itemCode"] in status}
    assert {"ACTIVE", "PASSIVE", "DELETED"} == {line["status"] for line in lines}
    ties = Counter(
        (line["priceListCode"], line["itemCode"], Decimal(line["minQuantity"]), line["validFrom"])
        for line in lines
        if line["status"] == "ACTIVE"
    )
    assert ties[("PL-RESELLER", "GLOVE-WORK", Decimal(1), None)] == 2


def test_the_yearly_price_update_stamped_over_a_thousand_lines_with_one_millisecond():
    """The base lines of the big lists share one dateModified: more than a thousand at 2,000 items."""
    _, _, lines = seeded(7, 2000)
    stamp, count = Counter(line["dateModified"] for line in lines).most_common(1)[0]
    assert count > 1000
    assert {line["priceListCode"] for line in lines if line["dateModified"] == stamp} <= BULK_LISTS


def test_the_special_lines_are_in_every_seed():
    """SPECIAL_LINES, which the tests use, are generated as listed whatever the seed."""
    for seed in (0, 7):
        by_id = {line["lineId"]: line for line in seeded(seed, 300)[2]}
        for line_id, code, item, price, currency, quantity, valid_from, valid_to in SPECIAL_LINES:
            line = by_id[line_id]
            assert (line["priceListCode"], line["itemCode"], line["price"]) == (code, item, price)
            assert (line["currency"], line["minQuantity"], line["status"]) == (currency, quantity, "ACTIVE")
            for days, value in ((valid_from, line["validFrom"]), (valid_to, line["validTo"])):
                assert value == (None if days is None else DEFAULT_EPOCH + timedelta(days=days))
