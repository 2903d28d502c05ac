"""The Query API's paging over HTTP: order, completeness, `first`, cursors and filter bounds."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from tests.standin.standin_http import ITEM_FIELDS, SonetClient, parse_instant

ITEMS_QUERY = "query($first: Int, $after: String) { items(first: $first, after: $after) { edges { cursor } } }"


def _order(node: dict, key: str) -> tuple:
    return parse_instant(node["dateModified"]), node[key]


@pytest.mark.parametrize(
    ("entity", "key", "fields"),
    [
        ("items", "itemCode", ITEM_FIELDS),
        (
            "customers",
            "customerNumber",
            "customerNumber name segmentCodes creditLimit orderBlocked "
            "addresses { type street } contacts { contactId email } status dateModified",
        ),
        ("customerSegments", "segmentCode", "segmentCode name customerType priceListCode status dateModified"),
    ],
)
def test_paging_reads_every_record_once_in_the_contract_order(sonet: SonetClient, entity, key, fields):
    """Paging with cursors returns every record exactly once, ordered by (dateModified, key), with every
    field as the stand-in holds it (the admin state), whatever the page size."""
    expected = {record[key]: record for record in sonet.state(entity)}
    for first in (500, 37):
        nodes = sonet.read_all(entity, fields, first=first)
        assert [_order(n, key) for n in nodes] == sorted(_order(n, key) for n in nodes)
        assert sorted(n[key] for n in nodes) == sorted(expected)
    for node in nodes:
        record = expected[node[key]]
        assert parse_instant(node["dateModified"]) == parse_instant(record["dateModified"])
        node.pop("dateModified")
        assert node == _shaped_like(record, node), node[key]


def _shaped_like(value, shape):
    """`value` cut down to the fields `shape` (a node as the query selected it) has."""
    if isinstance(shape, dict):
        return {name: _shaped_like(value[name], part) for name, part in shape.items()}
    if isinstance(shape, list) and isinstance(value, list) and len(shape) == len(value):
        return [_shaped_like(v, part) for v, part in zip(value, shape, strict=True)]
    return value


def test_items_answer_every_field_with_decimals_as_strings_and_millisecond_stamps(sonet: SonetClient):
    """Decimals come as JSON strings, DateTimes as ISO-8601 with milliseconds and Z, enums by name."""
    node = sonet.page("items", ITEM_FIELDS, first=1)["edges"][0]["node"]
    assert isinstance(node["vatRate"], str) and isinstance(node["stockBalance"], str)
    assert node["listPrice"] is None or isinstance(node["listPrice"], str)
    assert len(node["dateModified"]) == len("2026-11-28T04:38:00.123Z") and node["dateModified"].endswith("Z")
    assert node["status"] in ("ACTIVE", "PASSIVE", "DELETED")


def test_first_is_1_to_500_with_a_default_of_100(sonet: SonetClient):
    """`first` outside 1..500 is BAD_USER_INPUT with HTTP 200; 1 and 500 work; without it a page has 100."""
    for bad in (0, -1, 501, None):
        answer = sonet.graphql(ITEMS_QUERY, {"first": bad})
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(sonet.graphql(ITEMS_QUERY, {"first": 1})["data"]["items"]["edges"]) == 1
    assert len(sonet.graphql(ITEMS_QUERY, {"first": 500})["data"]["items"]["edges"]) == 300
    assert len(sonet.graphql("{ items { edges { cursor } } }")["data"]["items"]["edges"]) == 100


def test_a_garbage_or_foreign_cursor_is_bad_user_input(sonet: SonetClient):
    """A cursor that is not this list's own (garbage, tampered, another list's) is BAD_USER_INPUT."""
    customer_cursor = sonet.page("customers", "customerNumber", first=1)["pageInfo"]["endCursor"]
    tampered = base64.urlsafe_b64encode(b"v1|items|notanumber|X").decode()
    for cursor in ("garbage!", "", "djE=", customer_cursor, tampered):
        answer = sonet.graphql(ITEMS_QUERY, {"first": 5, "after": cursor})
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", cursor


def test_an_empty_page_has_no_end_cursor(sonet: SonetClient):
    """A page without edges answers `endCursor: null` and `hasNextPage: false`."""
    connection = sonet.page("items", "itemCode", modifiedFrom="2030-01-01T00:00:00Z")
    assert connection == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    inverted = sonet.page("items", "itemCode", modifiedFrom="2026-01-01T00:00:00Z", modifiedTo="2020-01-01T00:00:00Z")
    assert inverted["edges"] == [] and inverted["pageInfo"]["endCursor"] is None


def test_filter_bounds_are_from_inclusive_to_exclusive_at_equal_stamps(sonet: SonetClient):
    """`modifiedFrom <= dateModified < modifiedTo`, exactly, also when many records share the boundary
    millisecond, whatever offset or fraction digits the bounds are written with."""
    codes = [r["itemCode"] for r in sonet.state("items")[:6]]
    sonet.change("items", [{"itemCode": c, "stockBalance": "1"} for c in codes[:3]])  # one stamp T
    sonet.clock.advance(0.001)
    sonet.change("items", [{"itemCode": c, "stockBalance": "2"} for c in codes[3:]])  # T + 1 ms
    stamp = sonet.clock.now() - timedelta(milliseconds=1)
    t = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    t_plus_2h = (stamp + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+02:00"
    t_next = (stamp + timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    half_past = (stamp + timedelta(microseconds=500)).isoformat()

    def codes_in(**bounds: str) -> list[str]:
        return [n["itemCode"] for n in sonet.read_all("items", "itemCode", **bounds)]

    assert sorted(codes_in(modifiedFrom=t)) == sorted(codes)
    assert sorted(codes_in(modifiedFrom=t_plus_2h, modifiedTo=t_next)) == sorted(codes[:3])
    assert codes_in(modifiedFrom=half_past) == sorted(codes[3:])
    assert set(codes_in(modifiedTo=t)).isdisjoint(codes)
    assert codes_in(modifiedFrom=t, modifiedTo=t) == []
    whole_seconds = stamp.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")  # no fraction digits
    assert sorted(codes_in(modifiedFrom=whole_seconds)) == sorted(codes)


def test_datetime_input_needs_an_offset(sonet: SonetClient):
    """A DateTime input without a UTC offset (or not a timestamp) is BAD_USER_INPUT, as variable or literal."""
    query = "query($f: ChangeFilter) { items(filter: $f) { edges { cursor } } }"
    for value in ("2026-11-28T04:00:00", "2026-11-28", "yesterday", "2026-11-28 04:00:00Z"):
        answer = sonet.graphql(query, {"f": {"modifiedFrom": value}})
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", value
    literal = sonet.graphql('{ items(filter: {modifiedTo: "2026-11-28T04:00:00"}) { edges { cursor } } }')
    assert literal["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_bulk_update_stamped_with_one_millisecond_pages_without_loss_or_duplicates(start_standin):
    """1,200 items stamped with one millisecond, read from that stamp with first=500: all, each once."""
    sonet = start_standin(items=1300)
    changed = sonet.admin_json("POST", "/companies/01/bulk-update", json={"entity": "items", "count": 1200})
    assert changed["changed"] == 1200
    stamp = sonet.clock.now().isoformat()
    nodes = sonet.read_all("items", "itemCode dateModified listPrice", first=500, modifiedFrom=stamp)
    assert len(nodes) == 1200 and len({n["itemCode"] for n in nodes}) == 1200
    assert {n["dateModified"] for n in nodes} == {nodes[0]["dateModified"]}
    assert [n["itemCode"] for n in nodes] == sorted(n["itemCode"] for n in nodes)  # keys by code point


def test_graphql_needs_post_with_a_json_body(sonet: SonetClient):
    """GET, a body that is not JSON, or JSON without a query string is HTTP 400 with a GraphQL error body;
    a query that does not fit the schema is BAD_USER_INPUT with HTTP 200."""
    url = f"{sonet.base_url}/graphql"
    answers = [
        sonet.session.get(url, params={"query": "{ items { edges { cursor } } }"}, headers=sonet.headers()),
        sonet.session.post(url, data=b"{not json", headers={**sonet.headers(), "Content-Type": "application/json"}),
        sonet.session.post(url, json={"variables": {}}, headers=sonet.headers()),
        sonet.session.post(url, json=["query"], headers=sonet.headers()),
    ]
    for response in answers:
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    answer = sonet.graphql("{ itemz { edges { cursor } } }")
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
