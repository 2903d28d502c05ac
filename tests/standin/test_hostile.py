"""Hostile answers on purpose (`standin/hostile.py`): set through `/admin/faults`, each shape as described,
and the request behind a spoiled message answer is still processed (the order is accepted)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.standin.standin_http import B2B_ORDER, ITEM_FIELDS

B2B_MESSAGE_ID = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"
ITEMS_PAGE = f"query($first: Int) {{ items(first: $first) {{ edges {{ cursor node {{ {ITEM_FIELDS} }} }} }} }}"


def test_fault_settings_are_checked_and_shown(sonet):
    """Text settings take only their known shapes; a refused body changes nothing; GET shows them all."""
    before = sonet.admin_json("GET", "/faults")
    assert (before["hostile_message"], before["hostile_query"], before["hostile_share"]) == ("", "", 1.0)
    for body, fragment in [
        ({"hostile_message": "teapot"}, "hostile_message must be one of"),
        ({"hostile_query": "entity"}, "hostile_query must be one of"),
        ({"hostile_message": "html_200", "hostile_share": 2}, "hostile_share must be a number"),
        ({"hostile_entity_url": 'x" y'}, "hostile_entity_url must not contain"),
        ({"hostile_field": "not a field"}, "hostile_field must be a field name"),
        ({"hostile_body_bytes": "big"}, "hostile_body_bytes must be a number"),
    ]:
        response = sonet.admin("POST", "/faults", json=body)
        assert response.status_code == 400 and fragment in response.json()["error"], (body, response.text)
    assert sonet.admin_json("GET", "/faults") == before
    after = sonet.admin_json("POST", "/faults", json={"hostile_query": "null", "hostile_field": "vatRate"})
    assert (after["hostile_query"], after["hostile_field"], after["hostile_message"]) == ("null", "vatRate", "")


@pytest.mark.parametrize(
    ("shape", "status", "content_type", "marker"),
    [
        ("entity", 201, "application/xml", b'<!ENTITY sonet SYSTEM "file:///nowhere/marker">'),
        ("parameter_entity", 201, "application/xml", b'<!ENTITY % remote SYSTEM "file:///nowhere/marker"> %remote;'),
        ("malformed", 201, "application/xml", b"<MessageReceipt"),
        ("html_200", 200, "text/html", b"<html>"),
        ("wrong_content_type", 201, "text/html", b"<Status>ACCEPTED</Status>"),
    ],
)
def test_a_spoiled_message_answer_follows_an_accepted_order(sonet, shape, status, content_type, marker):
    """The message is judged and accepted as usual; only its answer is replaced by the shape."""
    sonet.admin_json("POST", "/faults", json={"hostile_message": shape, "hostile_entity_url": "file:///nowhere/marker"})
    response = sonet.send(B2B_ORDER)
    assert response.status_code == status and response.headers["content-type"].startswith(content_type)
    assert marker in response.content
    if shape == "entity":
        assert b"<SonetOrderNumber>&sonet;</SonetOrderNumber>" in response.content
    if shape == "malformed":
        assert not response.content.rstrip().endswith(b"</MessageReceipt>")
    assert [o["messageId"] for o in sonet.admin_json("GET", "/companies/01/orders")] == [B2B_MESSAGE_ID]
    assert sonet.admin_json("GET", "/companies/01/counters")["hostile_answers"] == 1
    sonet.admin_json("POST", "/faults", json={"hostile_message": ""})
    assert sonet.send(B2B_ORDER).status_code == 200  # the real DUPLICATE again


def test_a_huge_body_streams_without_a_length(sonet):
    """`huge_body` streams `hostile_body_bytes` in chunks, no Content-Length; the bytes are counted."""
    sonet.admin_json("POST", "/faults", json={"hostile_message": "huge_body", "hostile_body_bytes": 3_000_000})
    response = sonet.send(B2B_ORDER)
    assert response.status_code == 201 and "content-length" not in response.headers
    assert len(response.content) == 3_000_000
    assert sonet.admin_json("GET", "/companies/01/counters")["hostile_bytes"] == 3_000_000


@pytest.mark.parametrize(
    ("shape", "check"),
    [
        ("missing_field", lambda node: "vatRate" not in node),
        ("null", lambda node: node["vatRate"] is None),
        ("wrong_type", lambda node: node["vatRate"] == 59.9),
    ],
)
def test_a_spoiled_page_breaks_the_last_record_only(sonet, shape, check):
    """The last record of the page loses `hostile_field`, has it null, or has a float for a Decimal."""
    sonet.admin_json("POST", "/faults", json={"hostile_query": shape, "hostile_field": "vatRate"})
    edges = sonet.graphql(ITEMS_PAGE, {"first": 3})["data"]["items"]["edges"]
    assert len(edges) == 3 and check(edges[-1]["node"])
    assert all(isinstance(edge["node"]["vatRate"], str) for edge in edges[:-1])


@pytest.mark.parametrize(
    ("shape", "content_type", "body_start"),
    [
        ("html_200", "text/html", b"<!DOCTYPE html>"),
        ("wrong_content_type", "text/html", b'{"data"'),
        ("json_number", "application/json", b"42"),
    ],
)
def test_other_spoiled_query_answers(sonet, shape, content_type, body_start):
    sonet.admin_json("POST", "/faults", json={"hostile_query": shape})
    response = sonet.post_graphql(ITEMS_PAGE, {"first": 2})
    assert response.status_code == 200 and response.headers["content-type"].startswith(content_type)
    assert response.content.startswith(body_start)


def test_a_share_spoils_only_some_answers(sonet):
    """With `hostile_share` 0 nothing is spoiled even with a shape set."""
    sonet.admin_json("POST", "/faults", json={"hostile_query": "json_number", "hostile_share": 0})
    answer = sonet.graphql(ITEMS_PAGE, {"first": 1})
    assert json.dumps(answer).startswith('{"data"')
    assert sonet.admin_json("GET", "/companies/01/counters")["hostile_answers"] == 0


def test_a_huge_query_answer_stops_when_the_client_goes(sonet):
    """A client that reads a little and hangs up leaves the stand-in well short of the whole body."""
    sonet.admin_json("POST", "/faults", json={"hostile_query": "huge_body"})
    with requests.post(
        f"{sonet.base_url}/graphql",
        json={"query": ITEMS_PAGE, "variables": {"first": 1}},
        headers=sonet.headers(),
        stream=True,
        timeout=30,
    ) as response:
        assert response.status_code == 200 and "content-length" not in response.headers
        next(response.iter_content(65536))
    sent = settled(lambda: sonet.admin_json("GET", "/companies/01/counters")["hostile_bytes"])
    assert sent < 20 * 1024 * 1024, sent


def settled(read, timeout: float = 10.0) -> int:
    """`read()` once it gives the same value twice 0.2 s apart (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    last = read()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = read()
        if now == last:
            return now
        last = now
    pytest.fail("the count never settled")
