"""Both Sonet clients against hostile answers from the running stand-in (`standin/hostile.py`).

Message API: a 2xx answer with a DOCTYPE or entity, malformed XML, an HTML page, a wrong Content-Type or
a 50 MB body is UNKNOWN `BAD_ANSWER` with the reason, no entity is resolved (no file read, no URL
fetched), at most 1 MiB is read, and the resend settles the message as DUPLICATE. Query API: a page
that breaks the schema is `SonetAnswerError` naming list, field, key and cursor; an answer that is not
GraphQL JSON is a PROTOCOL problem; a 50 MB answer is refused after 16 MiB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from lxml import etree

from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.sonet.message import BAD_ANSWER, DUPLICATE, MAX_ANSWER_BYTES, UNKNOWN, SonetMessageClient
from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.sonet.query_errors import SonetAnswerError, SonetUnavailableError
from sonet_pipeline.sonet.retry import RetryPolicy
from sonet_pipeline.sonet.throttle import Throttle
from tests.local_http import recording_listener, serving
from tests.sonet.standin_clients import query_client_of
from tests.standin.standin_http import B2B_ORDER, TOKENS, SonetClient

ITEMS = entity("items")
MESSAGE_ID = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"
SECRET = "SECRET-MARKER-5b1f0c"


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on a free loopback port that records every request it gets: (base URL, paths)."""
    with recording_listener(f'<!ENTITY sonet "{SECRET}">'.encode()) as found:
        yield found


def message_client(sonet: SonetClient) -> SonetMessageClient:
    return SonetMessageClient(
        tenant="acme",
        base_url=sonet.base_url,
        company="01",
        token=TOKENS["01"],
        throttle=Throttle(100, 100, 4, clock=sonet.clock),
        timeout_seconds=10,
        clock=sonet.clock,
    )


def query_client(sonet: SonetClient, retry: RetryPolicy | None = None) -> SonetQueryClient:
    return query_client_of(sonet, retry=retry, seed=3)


def hostile(sonet: SonetClient, **settings: object) -> None:
    sonet.admin_json("POST", "/faults", json=settings)


def settled(read: Callable[[], int], timeout: float = 10.0) -> int:
    """`read()` once it gives the same value twice 0.2 s apart."""
    deadline, last = time.monotonic() + timeout, read()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if (now := read()) == last:
            return now
        last = now
    pytest.fail("the count never settled")


def hostile_bytes(sonet: SonetClient) -> int:
    return settled(lambda: sonet.admin_json("GET", "/companies/01/counters")["hostile_bytes"])


# --- Message API ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["entity", "parameter_entity"])
@pytest.mark.parametrize("target", ["file", "http"])
def test_an_entity_in_an_answer_is_never_resolved(sonet, tmp_path: Path, listener, shape, target):
    """A receipt whose DOCTYPE points an entity at a secret file or a local listener: UNKNOWN with the
    reason, the secret in nothing the client returns, the listener never asked. An unsafe parser given the
    same bytes does read the file (the control: the test would see a leak)."""
    marker = tmp_path / "secret-marker"
    marker.write_text(f'<!ENTITY sonet "{SECRET}">' if shape == "parameter_entity" else SECRET)
    base, seen = listener
    url = marker.as_uri() if target == "file" else f"{base}/entity"
    hostile(sonet, hostile_message=shape, hostile_entity_url=url)
    with message_client(sonet) as client:
        outcome = client.send(B2B_ORDER)
        assert (outcome.kind, outcome.code, outcome.status) == (UNKNOWN, BAD_ANSWER, 201)
        assert "a DOCTYPE or ENTITY declaration is not allowed" in outcome.message
        assert "may have accepted the order" in outcome.message
        assert SECRET not in repr(outcome) + outcome.message + outcome.body.decode()
        assert seen == []
        hostile(sonet, hostile_message="")
        again = client.send(B2B_ORDER)
    assert (again.kind, again.sonet_order_number) == (DUPLICATE, "SO-01-0000001")
    assert seen == []
    if target == "file":  # this libxml2 has no HTTP client; from a file, an unsafe parser reads the secret
        unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=False)
        resolved = etree.tostring(etree.fromstring(outcome.body, unsafe)).decode()
        assert SECRET in resolved, "the control parser should have resolved the entity"


@pytest.mark.parametrize(
    ("shape", "status", "reason"),
    [
        ("malformed", 201, "not well-formed"),
        ("html_200", 200, "Content-Type 'text/html' is not XML"),
        ("wrong_content_type", 201, "Content-Type 'text/html' is not XML"),
    ],
)
def test_a_garbled_2xx_answer_is_unknown_and_the_resend_settles_it(sonet, shape, status, reason):
    """The order was accepted but its answer is garbled: UNKNOWN with the status and the reason; the same
    bytes again get the real DUPLICATE; Sonet holds the order once."""
    hostile(sonet, hostile_message=shape)
    with message_client(sonet) as client:
        outcome = client.send(B2B_ORDER)
        assert (outcome.kind, outcome.code, outcome.status) == (UNKNOWN, BAD_ANSWER, status)
        assert f"HTTP {status} with an answer that is not a MessageReceipt" in outcome.message
        assert reason in outcome.message
        assert outcome.body  # kept for the archive, as received
        hostile(sonet, hostile_message="")
        assert client.send(B2B_ORDER).kind == DUPLICATE
    assert [o["messageId"] for o in sonet.admin_json("GET", "/companies/01/orders")] == [MESSAGE_ID]


def test_a_50_mb_answer_is_read_only_up_to_1_mib(sonet):
    """A 201 streaming 50 MB: the client stops at 1 MiB and hangs up (the stand-in sends far less than
    50 MB), keeps at most 1 MiB for the archive, and says why."""
    hostile(sonet, hostile_message="huge_body")
    with message_client(sonet) as client:
        outcome = client.send(B2B_ORDER)
    assert (outcome.kind, outcome.code, outcome.status) == (UNKNOWN, BAD_ANSWER, 201)
    assert f"the answer is over {MAX_ANSWER_BYTES} bytes (1 MiB); reading stopped there" in outcome.message
    assert outcome.body is not None and len(outcome.body) == MAX_ANSWER_BYTES
    assert hostile_bytes(sonet) < 20 * 1024 * 1024


# --- Query API ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "field", "what"),
    [
        ("missing_field", "vatRate", "items.edges[4].node.vatRate is missing, but the schema says Decimal!"),
        ("null", "vatRate", "items.edges[4].node.vatRate is null, but the schema says Decimal!"),
        (
            "wrong_type",
            "vatRate",
            'is a number 59.9, not a decimal number as a string, e.g. "59.90", but the schema says Decimal!',
        ),
        ("null", "dateModified", "items.edges[4].node.dateModified is null, but the schema says DateTime!"),
        ("wrong_type", "webVisible", "is a string '59.90', not true or false, but the schema says Boolean!"),
        ("null", "description", None),  # nullable: no problem at all
    ],
)
def test_a_page_that_breaks_the_schema_names_list_field_key_and_cursor(sonet, shape, field, what):
    """The page's last record is broken: the error names the list, the field, that record's key and its
    cursor, and no page is returned; a nullable field set to null is no problem."""
    with query_client(sonet) as client:
        first_page = client.page(ITEMS, first=5)
        second = client.page(ITEMS, first=5, after=first_page.end_cursor)
        hostile(sonet, hostile_query=shape, hostile_field=field)
        if what is None:
            assert client.page(ITEMS, first=5, after=first_page.end_cursor).records[-1][field] is None
            return
        with pytest.raises(SonetAnswerError) as caught:
            client.page(ITEMS, first=5, after=first_page.end_cursor)
    error = caught.value
    key = second.records[-1]["itemCode"]
    assert (error.code, error.entity, error.field, error.key) == ("INVALID_ANSWER", "items", field, key)
    assert error.cursor and error.cursor != first_page.end_cursor  # the broken record's own cursor
    assert what in str(error) and f"record itemCode={key!r}" in str(error) and "'acme'" in str(error)
    assert client.stats.requests == 3  # never retried


def test_a_broken_sales_order_lookup_names_the_message_id(sonet):
    """`salesOrder(messageId)` breaking the schema names the lookup and the MessageId."""
    sonet.send(B2B_ORDER)
    sonet.advance(120)
    hostile(sonet, hostile_query="null", hostile_field="sonetOrderNumber")
    with query_client(sonet) as client, pytest.raises(SonetAnswerError) as caught:
        client.sales_order(MESSAGE_ID)
    assert (caught.value.entity, caught.value.field, caught.value.key) == ("salesOrder", "sonetOrderNumber", MESSAGE_ID)
    assert "salesOrder.sonetOrderNumber is null, but the schema says ID!" in str(caught.value)


@pytest.mark.parametrize(
    ("shape", "detail"),
    [
        ("html_200", "HTTP 200 with Content-Type 'text/html', not JSON"),
        ("wrong_content_type", "HTTP 200 with Content-Type 'text/html', not JSON"),
        ("json_number", "an answer whose JSON is not a GraphQL result object"),
    ],
)
def test_an_answer_that_is_not_graphql_json_is_a_protocol_problem(sonet, shape, detail):
    """A proxy's HTML page, JSON under a wrong Content-Type, or bare JSON `42`: retried like a 503, then
    `SonetUnavailableError` naming PROTOCOL and what was wrong."""
    hostile(sonet, hostile_query=shape)
    policy = RetryPolicy(max_attempts=3, base_seconds=0.1, cap_seconds=1)
    with query_client(sonet, policy) as client, pytest.raises(SonetUnavailableError) as caught:
        client.page(ITEMS, first=5)
    assert caught.value.code == "PROTOCOL" and caught.value.attempts == 3
    assert detail in str(caught.value)


def test_a_50_mb_query_answer_is_refused_at_16_mib_without_retry(sonet):
    """A page answer streaming 50 MB: `SonetAnswerError` TOO_LARGE after 16 MiB, once, not retried."""
    hostile(sonet, hostile_query="huge_body")
    with query_client(sonet) as client, pytest.raises(SonetAnswerError) as caught:
        client.page(ITEMS, first=5)
    assert caught.value.code == "TOO_LARGE" and caught.value.entity == "items"
    assert "the answer is over 16777216 bytes (16 MiB); reading stopped there" in str(caught.value)
    assert client.stats.requests == 1
    assert hostile_bytes(sonet) < 40 * 1024 * 1024


# --- the decision table, with answers no stand-in gives (a canned server) --------------------------


@pytest.fixture
def canned() -> Iterator[tuple[str, dict]]:
    """A server answering every POST with `answer["status"]`, `answer["headers"]` and `answer["body"]`
    (a declared Content-Length larger than the body is sent as declared and then the body stalls)."""
    answer: dict = {}
    posts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append(self.path)
            self.send_response(answer["status"])
            headers = {"Content-Length": str(len(answer["body"])), **answer.get("headers", {})}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args: object) -> None:
            pass

    answer["posts"] = posts
    with serving(Handler) as url:
        yield url, answer


HTML = {"Content-Type": "text/html"}
XML = {"Content-Type": "application/xml"}
PAGE = b"<html><body>Bad Gateway</body></html>"


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "code"),
    [
        (502, HTML, PAGE, "TRANSIENT", "502"),  # the status decides: transient whatever the body
        (503, HTML, b"x" * (2 * MAX_ANSWER_BYTES), "TRANSIENT", "503"),
        (401, HTML, PAGE, "REFUSED", "401"),
        (400, HTML, PAGE, "TRANSIENT", "PROTOCOL"),  # a proxy's 400 page: Sonet refused nothing
        (409, XML, b"<MessageError/>", "TRANSIENT", "PROTOCOL"),
        (302, {"Location": "/elsewhere", **HTML}, PAGE, "TRANSIENT", "PROTOCOL"),  # not followed
        (204, {}, b"", "UNKNOWN", BAD_ANSWER),
        (200, XML, b"", "UNKNOWN", BAD_ANSWER),
        (
            200,
            {"Content-Type": "application/xml", "Content-Length": str(50 * 1024 * 1024)},
            b"<x>",
            "UNKNOWN",
            BAD_ANSWER,
        ),
    ],
    ids=[
        "502-html",
        "503-huge",
        "401-html",
        "400-html",
        "409-empty-error",
        "302",
        "204",
        "200-empty",
        "200-declared-50mb",
    ],
)
def test_each_status_and_body_is_classified_as_the_table_says(canned, status, headers, body, kind, code):
    """The status decides for 401/403, 429 and 5xx; a 2xx without a contract receipt is UNKNOWN; other
    statuses without a contract MessageError are PROTOCOL; a redirect is not followed; a declared 50 MB
    Content-Length is not read at all (the server sends 3 bytes and stalls: the client does not wait)."""
    base, answer = canned
    answer.update(status=status, headers=headers, body=body)
    client = SonetMessageClient(
        tenant="acme",
        base_url=base,
        company="01",
        token="token-x",
        throttle=Throttle(100, 100, 4),
        timeout_seconds=5,
    )
    with client:
        started = time.monotonic()
        outcome = client.send(B2B_ORDER)
    assert (outcome.kind, outcome.code, outcome.status) == (kind, code, status)
    assert time.monotonic() - started < 4  # never waited for the stalled body's timeout
    assert answer["posts"] == ["/messages/sales-orders"]  # one request: no redirect followed
    assert outcome.body is not None and len(outcome.body) <= MAX_ANSWER_BYTES
