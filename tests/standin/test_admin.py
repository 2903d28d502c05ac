"""The admin endpoints: loopback only, counters, state, changes, clock."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from datetime import timedelta

import requests

from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.standin.app import create_app
from sonet_pipeline.standin.boot import build_standin
from sonet_pipeline.standin.server import RunningStandin
from tests.conftest import require_outside
from tests.standin.standin_http import B2B_ORDER, START, SonetClient, config, parse_instant


def _asgi_status(app, method: str, path: str, client: tuple[str, int]) -> int:
    """Call the ASGI app directly as a client at `client` would (the peer address a server sees)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": client,
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"]


def _outward_address() -> str | None:
    """This machine's address towards other hosts, when it has one besides loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))  # no packet is sent for UDP connect
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


def test_admin_answers_loopback_clients_only():
    """A client that is not on a loopback address gets 403 from every admin endpoint; loopback ones get 200
    (IPv4 127/8, IPv6 ::1 and IPv4-mapped)."""
    app = create_app(build_standin(config(items=10), SystemClock()))
    for method, path in (("GET", "/admin/companies"), ("GET", "/admin/companies/01/counters"), ("GET", "/admin/clock")):
        assert _asgi_status(app, method, path, ("203.0.113.7", 40000)) == 403
        assert _asgi_status(app, method, path, ("10.0.0.1", 40000)) == 403
    for host in ("127.0.0.1", "::1", "127.8.9.10", "::ffff:127.0.0.1"):
        assert _asgi_status(app, "GET", "/admin/companies", (host, 40000)) == 200


def test_admin_refuses_a_non_loopback_client_over_http():
    """Over real HTTP, from this machine's outward address (not loopback): admin is 403, the APIs answer."""
    address = _outward_address()
    require_outside(address is not None, "this machine has no address besides loopback")
    assert address is not None
    standin = build_standin(config(items=10), SystemClock())
    with RunningStandin(standin, host=address) as running:
        assert requests.get(f"{running.base_url}/admin/companies", timeout=10).status_code == 403
        assert requests.get(f"{running.base_url}/health", timeout=10).status_code == 200


def test_admin_can_be_turned_off():
    """With `admin` off, the admin endpoints do not exist (404), also for loopback clients."""
    standin = build_standin(config(items=10, admin=False), SystemClock())
    with RunningStandin(standin) as running:
        assert requests.get(f"{running.base_url}/admin/companies", timeout=10).status_code == 404


def test_counters_count_every_answer_by_api_and_status(sonet: SonetClient):
    """Counters show each API's answers by HTTP status and how often each MessageId arrived."""
    sonet.graphql("{ items(first: 1) { edges { cursor } } }")
    sonet.post_graphql("{ items(first: 1) { edges { cursor } } }", token="wrong")
    sonet.send(B2B_ORDER)
    sonet.send(B2B_ORDER)
    counters = sonet.admin_json("GET", "/companies/01/counters")
    assert counters["responses"] == {"query": {"200": 1, "401": 1}, "message": {"200": 1, "201": 1}}
    assert counters["message_arrivals"] == {"0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21": 2}


def test_changes_upsert_whole_or_partial_records_and_are_checked(sonet: SonetClient):
    """A change by key merges the given fields into the newest version; a new key needs every required field;
    fields the contract does not have, or unknown keys to delete, are refused (400)."""
    existing = sonet.state("items")[0]
    sonet.change("items", [{"itemCode": existing["itemCode"], "stockBalance": "42"}])
    after = {r["itemCode"]: r for r in sonet.state("items")}[existing["itemCode"]]
    assert after["stockBalance"] == "42" and after["name"] == existing["name"]
    assert parse_instant(after["dateModified"]) == sonet.clock.now()

    new = {**existing, "itemCode": "NEW-ITEM-1", "name": "Uusi"}
    sonet.change("items", [new])
    assert "NEW-ITEM-1" in {n["itemCode"] for n in sonet.read_all("items", "itemCode")}
    bad = [
        {"entity": "items", "records": [{"itemCode": "NEW-ITEM-2", "name": "only a name"}]},
        {"entity": "items", "records": [{"itemCode": existing["itemCode"], "colour": "red"}]},
        {"entity": "items", "delete": ["NO-SUCH-ITEM"]},
        {"entity": "widgets", "records": []},
    ]
    for body in bad:
        assert sonet.admin("POST", "/companies/01/changes", json=body).status_code == 400, body


def test_a_sales_order_changes_only_its_status_and_only_to_a_contract_status(sonet: SonetClient):
    """Sales orders come from accepted messages: a change may move one's orderStatus to RECEIVED,
    CONFIRMED, DELIVERED or CANCELLED; inventing one, or another status, is refused (400)."""
    assert sonet.send(B2B_ORDER).status_code == 201
    [order] = sonet.state("salesOrders")
    sonet.change("salesOrders", [{"messageId": order["messageId"], "orderStatus": "DELIVERED"}])
    assert sonet.state("salesOrders")[0]["orderStatus"] == "DELIVERED"
    bad = [
        {"entity": "salesOrders", "records": [{"messageId": order["messageId"], "orderStatus": "SHIPPED"}]},
        {"entity": "salesOrders", "records": [{**order, "messageId": "no-such-message"}]},
    ]
    for change in bad:
        answer = sonet.admin("POST", "/companies/01/changes", json=change)
        assert answer.status_code == 400, answer.text
        assert "orderStatus must be one of" in answer.text or "come from accepted messages" in answer.text


def test_state_can_be_read_in_full_or_as_visible(sonet: SonetClient):
    """The state endpoint lists every record (newest version) as JSON Lines; `visible_only` what queries see."""
    code = sonet.state("items")[0]["itemCode"]
    sonet.change("items", [{"itemCode": code, "listPrice": "1.00"}], delay_seconds=30)
    newest = {r["itemCode"]: r for r in sonet.state("items")}
    visible = {r["itemCode"]: r for r in sonet.state("items", visible_only=True)}
    assert newest[code]["listPrice"] == "1.00" != visible[code]["listPrice"]
    assert len(newest) == len(visible) == 300


def test_the_clock_moves_only_when_it_is_manual(sonet: SonetClient):
    """A ManualClock is read, advanced and set through /admin/clock (never backwards); a system clock is 409."""
    start = parse_instant(sonet.admin_json("GET", "/clock")["now"])
    moved = sonet.admin_json("POST", "/clock", json={"advance_seconds": 1.5})
    assert parse_instant(moved["now"]) == start + timedelta(seconds=1.5) == sonet.clock.now()
    assert sonet.admin_json("POST", "/clock", json={"set": "2026-11-28T08:00:00+02:00"})["now"].startswith(
        "2026-11-28T06:00:00.000Z"
    )
    assert sonet.admin("POST", "/clock", json={"set": "2020-01-01T00:00:00Z"}).status_code == 400
    standin = build_standin(config(items=10), SystemClock())
    with RunningStandin(standin) as running:
        moving = requests.post(f"{running.base_url}/admin/clock", json={"advance_seconds": 1}, timeout=10)
        assert moving.status_code == 409


def test_random_changes_and_deletions_through_admin(sonet: SonetClient):
    """`random-changes` makes that many realistic changes, stamped now; `delete` marks a record DELETED."""
    made = sonet.admin_json("POST", "/companies/01/random-changes", json={"count": 25, "seed": 3})
    assert made["changed"] == 25 == sum(made["kinds"].values())
    stamped = [r for r in sonet.state("customers") + sonet.state("items") if parse_instant(r["dateModified"]) >= START]
    assert 0 < len(stamped) <= 25
    code = sonet.state("customers")[0]["customerNumber"]
    sonet.admin_json("POST", "/companies/01/changes", json={"entity": "customers", "delete": [code]})
    assert {r["customerNumber"]: r for r in sonet.state("customers")}[code]["status"] == "DELETED"
