"""The Query API client against a real stand-in over HTTP: paging, limits, retries, refusals and stats.

Client and stand-in share one `ManualClock`, so Retry-After, backoff and token refills cost no real time:
when the client waits, the stand-in's time moves with it.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.sonet.query import SonetQueryClient, format_datetime
from sonet_pipeline.sonet.query_errors import SonetAuthError, SonetQueryError, SonetUnavailableError
from sonet_pipeline.sonet.retry import RetryPolicy
from sonet_pipeline.sonet.throttle import Throttle
from sonet_pipeline.standin.boot import build_standin
from sonet_pipeline.standin.runtime import ApiLimits, Faults
from sonet_pipeline.standin.server import RunningStandin
from tests.sonet.standin_clients import query_client_of
from tests.standin.standin_http import B2B_ORDER, START, TOKENS, SonetClient, config, parse_instant

pytestmark = pytest.mark.slow
ITEMS = entity("items")
HINT = "check the token in ACME_SONET_TOKEN"
B2B_MESSAGE_ID = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"


@pytest.fixture
def start() -> Iterator[Callable[..., SonetClient]]:
    """Start stand-ins (small data, on free ports, on a ManualClock); all are stopped after the test."""
    running: list[RunningStandin] = []

    def start_one(**options: Any) -> SonetClient:
        clock = ManualClock(START)
        server = RunningStandin(build_standin(config(**options), clock)).start()
        running.append(server)
        return SonetClient(server.base_url, server.standin, clock, stop=server.stop)

    yield start_one
    for server in running:
        server.stop()


def client_of(sonet: SonetClient, **options: Any) -> SonetQueryClient:
    return query_client_of(sonet, credentials_hint=HINT, **options)


def counters(sonet: SonetClient) -> dict[str, int]:
    return sonet.admin_json("GET", "/companies/01/counters")["responses"].get("query", {})


def read_all(client: SonetQueryClient, **window: Any) -> list[dict]:
    return [record for page in client.iter_pages(ITEMS, **window) for record in page.records]


def test_paging_reads_every_item_as_the_standin_holds_it(start):
    """Following endCursor reads every visible item once, each node as Sonet holds it (values as sent:
    decimals as strings); a modified window selects exactly `from <= dateModified < to`; stats count it."""
    sonet = start(items=300)
    expected = {record["itemCode"]: record for record in sonet.state("items", visible_only=True)}
    with client_of(sonet) as client:
        pages = list(client.iter_pages(ITEMS, first=120))
        assert [len(page.records) for page in pages] == [120, 120, 60]
        assert not pages[-1].has_next_page
        records = [record for page in pages for record in page.records]
        assert sorted(r["itemCode"] for r in records) == sorted(expected)
        for record in records:
            held = expected[record["itemCode"]]
            assert parse_instant(record.pop("dateModified")) == parse_instant(held["dateModified"])
            assert record == {name: held[name] for name in record}
        assert client.stats.as_dict() == {
            **dict.fromkeys(("retries", "throttled", "unavailable", "connection_errors", "waited_seconds"), 0),
            **{"requests": 3, "pages": 3, "records": 300},
        }

        stamps = sorted(parse_instant(r["dateModified"]) for r in expected.values())
        low, high = stamps[50], stamps[200]
        window = read_all(client, modified_from=low, modified_to=high)
        assert sorted(r["itemCode"] for r in window) == sorted(
            code for code, r in expected.items() if low <= parse_instant(r["dateModified"]) < high
        )


def test_sales_order_is_none_until_accepted_and_visible(start):
    """`sales_order` answers None for an unknown MessageId and the order once it is visible."""
    sonet = start(lag_seconds=90)
    with client_of(sonet) as client:
        assert client.sales_order("no-such-message") is None
        assert sonet.send(B2B_ORDER).status_code == 201
        sonet.clock.advance(90.001)
        order = client.sales_order(B2B_MESSAGE_ID)
        assert order is not None and order["messageId"] == B2B_MESSAGE_ID and order["orderStatus"] == "RECEIVED"


def test_client_limits_at_the_servers_meet_no_throttling(start):
    """Four threads sharing one client (and its throttle) at Sonet's own limits (5/s, burst 10, 4 in
    flight) meet few or no 429s, and every request is counted once."""
    limits = ApiLimits(rate=5, burst=10, in_flight=4)
    sonet = start(items=50, query_limits=limits)
    with client_of(sonet, limits=(5, 10, 4)) as client:

        def work() -> None:
            for _ in range(10):
                client.page(ITEMS, first=5)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert client.stats.pages == 40
        assert client.stats.throttled == counters(sonet).get("429", 0) <= 2
        assert client.stats.requests == 40 + client.stats.throttled == sum(counters(sonet).values())


def test_every_retry_after_is_obeyed(start):
    """A client configured above Sonet's limits meets 429s, and after each waits at least the Retry-After
    (the stand-in's token bucket refills meanwhile), so it never meets two in a row and reads everything."""
    sonet = start(items=50, query_limits=ApiLimits(rate=5, burst=10, in_flight=4))
    with client_of(sonet, limits=(100, 100, 1)) as client:
        for _ in range(30):
            client.page(ITEMS, first=5)
        throttled = client.stats.throttled
        assert throttled == counters(sonet)["429"] > 0
        assert client.stats.retries == throttled
        assert client.stats.waited_seconds >= throttled * 1.0  # the stand-in's Retry-After is >= 1 s
        assert throttled <= 20 / 5 + 1  # each wait of >= 1 s buys >= 5 requests at 5/s: no 429 in a row
        assert client.throttle.hold_left() == 0


def test_503s_are_retried_until_an_answer(start, caplog):
    """Random 503s with Retry-After are retried after that wait until answered: every item arrives, the
    503s met are counted, and no log line carries the token."""
    faults = Faults(unavailable_share=0.5, unavailable_retry_after=2)
    sonet = start(items=100, faults=faults, fault_seed=3)
    caplog.set_level(logging.DEBUG)
    with client_of(sonet) as client:
        assert len(read_all(client, first=20)) == 100
        met = counters(sonet)["503"]
        assert client.stats.unavailable == client.stats.retries == met > 0
        assert client.stats.waited_seconds >= 2.0 * met
    assert "Sonet Query API UNAVAILABLE" in caplog.text
    assert TOKENS["01"] not in caplog.text


def test_a_maintenance_within_the_bound_is_waited_out(start):
    """A maintenance of 30 s (503, Retry-After 30) is waited out, then the query is answered."""
    sonet = start(items=20)
    sonet.admin_json("POST", "/maintenance", json={"seconds": 30})
    with client_of(sonet) as client:
        assert len(client.page(ITEMS).records) == 20
        assert client.stats.waited_seconds >= 30 and client.stats.unavailable >= 1


@pytest.mark.parametrize("outage", ["maintenance", "always_503"])
def test_an_outage_past_the_policy_ends_in_unavailable_naming_the_tenant(start, outage):
    """A maintenance whose Retry-After lies beyond the give-up bound fails at once; 503s that never stop
    fail after max_attempts. Either is SonetUnavailableError naming the tenant, the attempts and the cause."""
    sonet = start(items=20, faults=Faults(unavailable_share=1.0 if outage == "always_503" else 0.0))
    if outage == "maintenance":
        sonet.admin_json("POST", "/maintenance", json={"seconds": 1200})
    retry = RetryPolicy(max_attempts=4, give_up_after_seconds=600)
    with client_of(sonet, retry=retry) as client, pytest.raises(SonetUnavailableError) as caught:
        client.page(ITEMS)
    error = caught.value
    assert (error.tenant, error.code) == ("acme", "UNAVAILABLE")
    assert error.attempts == (1 if outage == "maintenance" else 4)
    assert "tenant 'acme'" in str(error) and f"after {error.attempts} attempt" in str(error)
    assert counters(sonet)["503"] == error.attempts


def test_timeouts_are_retried_until_an_answer(start):
    """Answers slower than the client's timeout count as connection errors and are retried: every item
    still arrives once."""
    sonet = start(items=60, faults=Faults(slow_share=0.5, slow_seconds=0.4), fault_seed=2)
    with client_of(sonet, timeout_seconds=0.15) as client:
        records = read_all(client, first=10)
        assert sorted(r["itemCode"] for r in records) == sorted(r["itemCode"] for r in sonet.state("items"))
        assert client.stats.connection_errors == client.stats.retries > 0


def test_a_standin_gone_mid_way_ends_in_unavailable_after_the_retries(start):
    """When Sonet stops answering between pages, the refused connections are retried per the policy,
    then SonetUnavailableError names the tenant and the connection problem."""
    sonet = start(items=30)
    with client_of(sonet, retry=RetryPolicy(max_attempts=3)) as client:
        pages = client.iter_pages(ITEMS, first=10)
        assert len(next(pages).records) == 10
        sonet.stop()
        with pytest.raises(SonetUnavailableError) as caught:
            next(pages)
        assert caught.value.code == "CONNECTION" and caught.value.attempts == 3
        assert "tenant 'acme'" in str(caught.value)
        assert client.stats.connection_errors == 3 and client.stats.retries == 2


@pytest.mark.parametrize(
    ("token", "company", "code"),
    [("wrong-secret-token-123", "01", "UNAUTHENTICATED"), (TOKENS["01"], "02", "FORBIDDEN")],
)
def test_a_refused_token_or_company_fails_at_once_without_the_token(start, token, company, code):
    """401 and 403 are SonetAuthError on the first answer (no retry), naming the tenant and where to look,
    never the token."""
    sonet = start(items=10, companies=("01", "02"))
    with client_of(sonet, token=token, company=company) as client:
        with pytest.raises(SonetAuthError) as caught:
            client.page(ITEMS)
        assert client.stats.requests == 1 and client.stats.retries == 0
    message = str(caught.value)
    assert (caught.value.code, caught.value.tenant) == (code, "acme")
    assert message.startswith("tenant 'acme': Sonet refused") and HINT in message and f"({code})" in message
    assert token not in message and token not in repr(caught.value)


@pytest.mark.parametrize("page_args", [{"after": "not-a-cursor"}, {"first": 501}])
def test_a_refused_query_surfaces_its_code_at_once(start, page_args):
    """BAD_USER_INPUT is a SonetQueryError with that code and Sonet's message, not retried."""
    sonet = start(items=10)
    with client_of(sonet) as client:
        with pytest.raises(SonetQueryError) as caught:
            client.page(ITEMS, **page_args)
        assert client.stats.requests == 1
    assert type(caught.value) is SonetQueryError and caught.value.code == "BAD_USER_INPUT"
    assert "tenant 'acme'" in str(caught.value) and "BAD_USER_INPUT" in str(caught.value)


EMPTY_PAGE = {"data": {"items": {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}}


@pytest.fixture
def scripted() -> Iterator[Callable[[list[tuple[int, dict[str, str], bytes]]], str]]:
    """A server that is not the stand-in: it answers the given (status, headers, body) in turn, then an
    empty page, like a worse Sonet or a proxy in front of one would."""
    servers: list[ThreadingHTTPServer] = []

    def serve(answers: list[tuple[int, dict[str, str], bytes]]) -> str:
        queue = list(answers)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                status, headers, body = queue.pop(0) if queue else (200, {}, json.dumps(EMPTY_PAGE).encode())
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _scripted_client(base_url: str) -> SonetQueryClient:
    clock = ManualClock(START)
    return SonetQueryClient(
        tenant="acme",
        base_url=base_url,
        company="01",
        token="secret-1",
        throttle=Throttle(100, 100, 4, clock),
        clock=clock,
        rng=random.Random(1),
        credentials_hint=HINT,
    )


HTML = {"Content-Type": "text/html"}
GRAPHQL_ERROR = json.dumps({"errors": [{"message": "boom"}]}).encode()
INTERNAL = json.dumps({"errors": [{"message": "boom", "extensions": {"code": "INTERNAL"}}]}).encode()


@pytest.mark.parametrize(
    ("answer", "counter", "waited_at_least"),
    [
        ((502, HTML, b"<html>Bad Gateway</html>"), "unavailable", 0),
        ((500, {}, GRAPHQL_ERROR), "unavailable", 0),
        ((200, {}, INTERNAL), "unavailable", 0),
        ((429, {**HTML, "Retry-After": "3"}, b"<html>slow down</html>"), "throttled", 6),
        ((503, {"Retry-After": "Sat, 28 Nov 2026 04:00:07 GMT"}, b"{}"), "unavailable", 7),
        ((200, HTML, b"<html>maintenance page</html>"), "unavailable", 0),
    ],
)
def test_other_transient_answers_are_retried(scripted, answer, counter, waited_at_least):
    """Other 5xx (with or without a GraphQL body), INTERNAL, and answers that are not GraphQL at all are
    transient, like 429 and 503 from a proxy; a Retry-After as an HTTP-date is obeyed too."""
    with _scripted_client(scripted([answer, answer])) as client:
        assert client.page(ITEMS).records == []
        assert client.stats.requests == 3 and client.stats.retries == 2
        assert client.stats.as_dict()[counter] == 2
        assert client.stats.waited_seconds >= waited_at_least


@pytest.mark.parametrize(
    ("answer", "error", "code"),
    [
        ((401, HTML, b"<html>no</html>"), SonetAuthError, "UNAUTHENTICATED"),
        ((403, HTML, b"<html>no</html>"), SonetAuthError, "FORBIDDEN"),
        ((400, HTML, b"<html>secret-1 is bad</html>"), SonetQueryError, "HTTP_400"),
        (
            (200, {}, json.dumps({"errors": [{"message": "no", "extensions": {"code": "NEW"}}]}).encode()),
            SonetQueryError,
            "NEW",
        ),
    ],
)
def test_other_refusals_fail_at_once(scripted, answer, error, code):
    """401/403 from a proxy are auth errors, other 4xx and unknown error codes are final query errors:
    none retried, and the token is never echoed even when the server echoes it."""
    with _scripted_client(scripted([answer])) as client:
        with pytest.raises(error) as caught:
            client.page(ITEMS)
        assert client.stats.requests == 1
    assert type(caught.value) is error and caught.value.code == code and "secret-1" not in str(caught.value)


def test_datetime_variables_go_as_utc_with_milliseconds():
    """A DateTime variable is sent as the same instant in UTC, `Z`, milliseconds; a naive one is refused."""
    local = datetime(2026, 11, 28, 6, 38, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(local) == "2026-11-28T04:38:00.123Z"
    assert format_datetime(datetime(2026, 11, 28, tzinfo=UTC)) == "2026-11-28T00:00:00.000Z"
    with pytest.raises(ValueError):
        format_datetime(datetime(2026, 11, 28))
