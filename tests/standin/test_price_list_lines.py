"""The Query API's `priceListLines` (contract 1.1) over HTTP: paged, filtered, lagging, throttled and
never deleted like the other lists, with the contract's own query text."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import graphql

from sonet_pipeline.contract import graphql_sdl
from sonet_pipeline.standin.runtime import ApiLimits
from sonet_pipeline.standin.seed_price_lists import SPECIAL_LINES
from tests.standin.standin_http import SonetClient, parse_instant

LINE_FIELDS = "lineId priceListCode itemCode price currency minQuantity validFrom validTo status dateModified"
LINES_QUERY = (
    "query PriceListLinePage($filter: ChangeFilter, $first: Int, $after: String) { "
    "priceListLines(filter: $filter, first: $first, after: $after) { "
    f"edges {{ cursor node {{ {LINE_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
)


def _read(sonet: SonetClient, first: int = 500, **filter: str) -> list[dict]:
    return sonet.read_all("priceListLines", LINE_FIELDS, first=first, **filter)


def _order(node: dict) -> tuple:
    return parse_instant(node["dateModified"]), node["lineId"]


def test_the_query_is_valid_against_the_contract_schema():
    """The query the tests send (every field of PriceListLine) validates against schema.graphql."""
    schema = graphql.build_schema(graphql_sdl())
    assert graphql.validate(schema, graphql.parse(LINES_QUERY)) == []
    assert set(LINE_FIELDS.split()) == set(schema.get_type("PriceListLine").fields)  # type: ignore[union-attr]


def test_paging_reads_every_line_once_in_the_contract_order_with_the_contract_formats(sonet: SonetClient):
    """Every line exactly once, ordered by (dateModified, lineId), whatever the page size; decimals as
    strings, DateTimes with milliseconds and an offset, nulls where a line is open-ended."""
    expected = {line["lineId"]: line for line in sonet.state("priceListLines")}
    for first in (500, 41):
        nodes = _read(sonet, first)
        assert [_order(n) for n in nodes] == sorted(_order(n) for n in nodes)
        assert sorted(n["lineId"] for n in nodes) == sorted(expected)
    for node in nodes:
        stored = expected[node["lineId"]]
        for name in ("dateModified", "validFrom", "validTo"):
            if node[name] is None:
                assert stored[name] is None
            else:
                assert node[name].endswith("Z") and len(node[name]) == len("2026-11-28T04:38:00.123Z")
                assert parse_instant(node[name]) == parse_instant(stored[name])
        assert isinstance(node["price"], str) and isinstance(node["minQuantity"], str)
        assert {k: node[k] for k in ("price", "currency", "status", "itemCode")} == {
            k: stored[k] for k in ("price", "currency", "status", "itemCode")
        }
    answer = sonet.graphql(LINES_QUERY, {"first": 10})
    assert len(answer["data"]["priceListLines"]["edges"]) == 10
    assert sonet.graphql(LINES_QUERY, {"first": 501})["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_change_filter_selects_by_date_modified(sonet: SonetClient):
    """`modifiedFrom <= dateModified < modifiedTo`, any offset, as for the other lists."""
    nodes = _read(sonet)
    middle = parse_instant(nodes[len(nodes) // 2]["dateModified"])
    start, end = middle - timedelta(days=20), middle + timedelta(days=20)
    window = _read(sonet, modifiedFrom=start.isoformat(), modifiedTo=end.astimezone().isoformat())
    assert window == [n for n in nodes if start <= parse_instant(n["dateModified"]) < end]
    assert 0 < len(window) < len(nodes)


def test_a_deleted_line_stays_listed_with_status_deleted_and_a_new_stamp(sonet: SonetClient):
    """Nothing is dropped: a deletion is a new version, status DELETED, listed after the others."""
    before = _read(sonet)
    line_id = next(n["lineId"] for n in before if n["status"] == "ACTIVE")
    sonet.advance(1)
    written = sonet.admin_json("POST", "/companies/01/changes", json={"entity": "priceListLines", "delete": [line_id]})
    assert written["written"] == 1
    after = _read(sonet)
    assert len(after) == len(before) and after[-1]["lineId"] == line_id and after[-1]["status"] == "DELETED"
    assert parse_instant(after[-1]["dateModified"]) == sonet.clock.now().replace(microsecond=0)


def test_a_bulk_list_update_stamps_thousands_of_lines_with_one_millisecond_and_pages_by_cursor(start_standin):
    """A bulk update of the price lists: thousands of lines share one millisecond, and paging by cursor
    across pages of 500 returns each exactly once at that stamp, prices raised by the percent."""
    sonet = start_standin(items=3000)
    before = {n["lineId"]: n for n in _read(sonet)}
    sonet.advance(2)
    now = sonet.clock.now()
    changed = sonet.admin_json("POST", "/companies/01/bulk-update", json={"entity": "priceListLines", "count": 2500})
    assert changed == {"changed": 2500}
    stamped = _read(sonet, modifiedFrom=now.isoformat())
    assert len(stamped) == 2500 == len({n["lineId"] for n in stamped})
    assert {n["dateModified"] for n in stamped} == {now.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    for node in stamped:
        old = Decimal(before[node["lineId"]]["price"])
        assert Decimal(node["price"]) == (old * Decimal("1.03")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert before[node["lineId"]]["status"] != "DELETED"


def test_a_late_commit_becomes_visible_only_after_its_lag(sonet: SonetClient):
    """A line changed with a delay is listed, at its own dateModified, only once the clock passes it."""
    line = next(n for n in _read(sonet) if n["status"] == "ACTIVE")
    sonet.change("priceListLines", [{"lineId": line["lineId"], "price": "1.23"}], delay_seconds=60)
    listed = {n["lineId"]: n for n in _read(sonet)}
    assert listed[line["lineId"]]["price"] == line["price"]
    sonet.advance(61)
    assert {n["lineId"]: n for n in _read(sonet)}[line["lineId"]]["price"] == "1.23"


def test_admin_changes_take_validity_as_iso_text_and_refuse_bad_text(sonet: SonetClient):
    """An admin change gives validFrom/validTo as the API writes them; text without an offset is refused."""
    line = {
        "lineId": "PLL-TEST-1",
        "priceListCode": "PL-TEST",
        "itemCode": "GLOVE-WORK",
        "price": "3.99",
        "currency": "EUR",
        "minQuantity": "12",
        "validFrom": "2026-12-01T00:00:00+02:00",
        "validTo": None,
        "status": "ACTIVE",
    }
    sonet.change("priceListLines", [line])
    node = next(n for n in _read(sonet) if n["lineId"] == "PLL-TEST-1")
    assert node["validFrom"] == "2026-11-30T22:00:00.000Z" and node["validTo"] is None
    refused = sonet.admin(
        "POST",
        "/companies/01/changes",
        json={"entity": "priceListLines", "records": [{**line, "validTo": "2027-01-01 00:00"}]},
    )
    assert refused.status_code == 400 and "validTo" in refused.text


def test_price_list_lines_count_against_the_query_api_bucket(start_standin):
    """The list is throttled like every Query API request: past the burst, 429 with Retry-After."""
    sonet = start_standin(query_limits=ApiLimits(rate=1, burst=2, in_flight=4))
    statuses = [sonet.post_graphql(LINES_QUERY, {"first": 5}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_special_lines_are_served_as_seeded(sonet: SonetClient):
    """The lines the tests and the later price lookup rely on are there, every seed."""
    served = {n["lineId"]: n for n in _read(sonet)}
    for line_id, code, item, price, currency, quantity, *_ in SPECIAL_LINES:
        node = served[line_id]
        assert (node["priceListCode"], node["itemCode"], node["price"], node["currency"], node["minQuantity"]) == (
            code,
            item,
            price,
            currency,
            quantity,
        )
