"""The Message API client against the running stand-in: every answer classified as the contract says."""

from __future__ import annotations

import pytest
import requests

from sonet_pipeline.contract import read_bytes
from sonet_pipeline.sonet.message import ACCEPTED, DUPLICATE, REFUSED, REJECTED, TRANSIENT, UNKNOWN, SonetMessageClient
from sonet_pipeline.sonet.throttle import Throttle
from sonet_pipeline.standin.runtime import ApiLimits, Faults
from tests.standin.standin_http import TOKENS

ORDER = read_bytes("examples/sales-order-b2b.xml")


def client_for(sonet, *, token: str | None = None, rate: float = 100, burst: int = 100) -> SonetMessageClient:
    return SonetMessageClient(
        tenant="acme",
        base_url=sonet.base_url,
        company="01",
        token=token or TOKENS["01"],
        throttle=Throttle(rate, burst, 4, sonet.clock),
        timeout_seconds=5,
        clock=sonet.clock,
    )


def test_accepted_then_duplicate_with_the_same_order_number(sonet):
    """201 ACCEPTED, then the same bytes again: DUPLICATE with the same SonetOrderNumber."""
    with client_for(sonet) as client:
        first, again = client.send(ORDER), client.send(ORDER)
    assert (first.kind, first.status) == (ACCEPTED, 201)
    assert (again.kind, again.status) == (DUPLICATE, 200)
    assert first.sonet_order_number and again.sonet_order_number == first.sonet_order_number


def test_final_refusals_carry_code_and_field(sonet):
    """A 400 is REJECTED with Sonet's code and field; other content under an accepted id is a CONFLICT."""
    unknown_item = ORDER.replace(b"<ItemCode>GLOVE-WORK</ItemCode>", b"<ItemCode>NO-SUCH</ItemCode>")
    with client_for(sonet) as client:
        rejected = client.send(unknown_item)
        assert (rejected.kind, rejected.code, rejected.field) == (REJECTED, "UNKNOWN_ITEM", "Lines/Line[2]/ItemCode")
        assert client.send(ORDER).kind == ACCEPTED
        conflict = client.send(ORDER.replace(b"Toimitus takaovelle", b"Toimitus etuovelle"))
    assert (conflict.kind, conflict.status, conflict.code) == (REJECTED, 409, "CONFLICT")


def test_wrong_token_is_refused_without_showing_it(sonet):
    """401 is REFUSED: the tenant is named, the token is not."""
    with client_for(sonet, token="wrong-token-value") as client:
        outcome = client.send(ORDER)
    assert outcome.kind == REFUSED and "acme" in outcome.message and "wrong-token-value" not in outcome.message


def test_throttled_and_unavailable_are_transient_with_retry_after(start_standin):
    """429 and 503 decide nothing: TRANSIENT with the Retry-After, and the whole tenant holds off."""
    sonet = start_standin(message_limits=ApiLimits(rate=1, burst=1, in_flight=4))
    with client_for(sonet, rate=100, burst=100) as client:
        assert client.send(ORDER).kind == ACCEPTED
        throttled = client.send(ORDER)
        assert (throttled.kind, throttled.status) == (TRANSIENT, 429) and throttled.retry_after
        assert client.throttle.hold_left() > 0
    sonet.admin_json("POST", "/maintenance", json={"seconds": 30})
    with client_for(sonet) as client:
        unavailable = client.send(ORDER)
    assert (unavailable.kind, unavailable.status, unavailable.retry_after) == (TRANSIENT, 503, 30)


@pytest.mark.parametrize("share", [1.0])
def test_lost_answer_is_unknown_and_the_resend_settles_it(start_standin, share):
    """A broken connection is UNKNOWN (the order may have arrived); the same bytes again are a DUPLICATE."""
    sonet = start_standin(faults=Faults(lost_answer_share=share))
    with client_for(sonet) as client:
        assert client.send(ORDER).kind == UNKNOWN
        sonet.admin_json("POST", "/faults", json={"lost_answer_share": 0})
        assert client.send(ORDER).kind == DUPLICATE
    counters = sonet.admin_json("GET", "/companies/01/counters")
    assert counters["message_arrivals"]["0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"] == 2


def test_each_outcome_carries_the_answer_the_archive_keeps(start_standin):
    """Beside its classification, an outcome holds the answer's status, the headers that matter and the
    body bytes as received; a 503 keeps its Retry-After header; a lost answer has no status and no body."""
    sonet = start_standin()
    with client_for(sonet) as client:
        accepted = client.send(ORDER)
        raw = sonet.send(ORDER)  # the same bytes again, straight to the stand-in: Sonet's exact DUPLICATE body
        duplicate = client.send(ORDER)
    assert (accepted.kind, accepted.status) == (ACCEPTED, 201) and accepted.body and b"ACCEPTED" in accepted.body
    assert duplicate.body == raw.content and duplicate.kind == DUPLICATE
    assert {name.lower() for name in accepted.headers} >= {"content-type", "date"}
    assert not {name.lower() for name in accepted.headers} & {"authorization", "set-cookie", "server"}
    sonet.admin_json("POST", "/maintenance", json={"seconds": 30})
    with client_for(sonet) as client:
        unavailable = client.send(ORDER)
    kept = {name.lower(): value for name, value in unavailable.headers.items()}
    assert unavailable.kind == TRANSIENT and kept["retry-after"] == "30"
    assert unavailable.body is not None and unavailable.status == 503
    lossy = start_standin(faults=Faults(lost_answer_share=1.0))
    with client_for(lossy) as client:
        lost = client.send(ORDER)
    assert (lost.kind, lost.status, lost.body, dict(lost.headers)) == (UNKNOWN, None, None, {})


class _EchoingSession:
    """A session whose every answer echoes the bearer token it was sent, in the body and in headers."""

    def post(self, url: str, *, data: bytes, headers: dict[str, str], **_options: object) -> requests.Response:
        token = headers["Authorization"].removeprefix("Bearer ")
        response = requests.Response()
        response.status_code = 400
        response._content = f"<MessageError><Message>bad token {token}</Message></MessageError>".encode()
        response._content_consumed = True
        response.headers = requests.structures.CaseInsensitiveDict(
            {"Content-Type": "application/xml", "X-Request-Id": f"req-{token}", "Set-Cookie": f"s={token}"}
        )
        return response


def test_no_outcome_holds_the_token_even_when_sonet_echoes_it(sonet, monkeypatch):
    """Were Sonet to echo the token, the outcome's body and headers have `***` in its place; the request id
    is kept, a cookie is not. The classification is unchanged (an unparseable 400 is a PROTOCOL answer)."""
    with client_for(sonet, token="secret-token-123") as client:
        monkeypatch.setattr(client, "_session", _EchoingSession)
        outcome = client.send(ORDER)
    assert (outcome.kind, outcome.code, outcome.status) == (TRANSIENT, "PROTOCOL", 400)
    assert outcome.body == b"<MessageError><Message>bad token ***</Message></MessageError>"
    assert dict(outcome.headers) == {"Content-Type": "application/xml", "X-Request-Id": "req-***"}
    assert "secret-token-123" not in repr(outcome)
