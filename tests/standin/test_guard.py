"""What every request passes first, for both APIs: authentication, maintenance, throttling, faults."""

from __future__ import annotations

import threading

import requests

from sonet_pipeline.standin.runtime import ApiLimits, Faults
from tests.standin.standin_http import B2B_ORDER, TOKENS, SonetClient, message_error, wait_until

QUERY = "{ customerSegments(first: 1) { edges { cursor } } }"


def _both(sonet: SonetClient, **auth) -> tuple[requests.Response, requests.Response]:
    return sonet.post_graphql(QUERY, **auth), sonet.send(B2B_ORDER, **auth)


def _codes(query: requests.Response, message: requests.Response) -> tuple:
    return (
        query.status_code,
        query.json()["errors"][0]["extensions"]["code"],
        message.status_code,
        message_error(message)["Code"],
    )


def test_a_missing_or_wrong_token_is_401(start_standin):
    """No Bearer token, or a token no company has, answers 401 UNAUTHENTICATED on both APIs, without echoing
    the token."""
    sonet = start_standin(companies=("01", "02"))
    url = f"{sonet.base_url}/graphql"
    for headers in ({"X-Sonet-Company": "01"}, {"X-Sonet-Company": "01", "Authorization": "Basic eDp5"}):
        assert sonet.session.post(url, json={"query": QUERY}, headers=headers).status_code == 401
    query, message = _both(sonet, token="wrong-secret-token")
    assert _codes(query, message) == (401, "UNAUTHENTICATED", 401, "UNAUTHENTICATED")
    assert "wrong-secret-token" not in query.text + message.text


def test_a_missing_unknown_or_foreign_company_is_403(start_standin):
    """A valid token with no company, an unknown one, or another token's company answers 403 FORBIDDEN."""
    sonet = start_standin(companies=("01", "02"))
    url = f"{sonet.base_url}/graphql"
    response = sonet.session.post(url, json={"query": QUERY}, headers={"Authorization": f"Bearer {TOKENS['01']}"})
    assert response.status_code == 403
    for company in ("99", "02"):
        query, message = _both(sonet, company=company, token=TOKENS["01"])
        assert _codes(query, message) == (403, "FORBIDDEN", 403, "FORBIDDEN")


def test_over_the_rate_is_429_with_retry_after_and_refusals_use_no_token(start_standin):
    """A token bucket per company and API: past the burst, 429 THROTTLED with a whole-second Retry-After.
    Refused requests (429, 401, 403) take no token: only the clock refills the bucket."""
    sonet = start_standin(query_limits=ApiLimits(rate=1, burst=3, in_flight=4))
    for _ in range(5):
        assert sonet.post_graphql(QUERY, token="wrong").status_code == 401
        assert sonet.post_graphql(QUERY, company="99").status_code == 403
    assert [sonet.post_graphql(QUERY).status_code for _ in range(3)] == [200, 200, 200]
    for _ in range(5):
        refused = sonet.post_graphql(QUERY)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert refused.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    sonet.advance(1)  # one token, however many refusals came before
    assert [sonet.post_graphql(QUERY).status_code for _ in range(2)] == [200, 429]
    assert sonet.send(B2B_ORDER).status_code == 201  # the Message API has its own bucket (unthrottled here)
    counters = sonet.admin_json("GET", "/companies/01/counters")
    assert counters["responses"]["query"] == {"200": 4, "401": 5, "429": 6}  # company 99's 403s are not 01's
    assert counters["throttled"] == 6


def test_the_message_api_throttles_with_a_message_error(start_standin):
    """The Message API's 429 is a MessageError THROTTLED with Retry-After; the waiting time is rounded up."""
    sonet = start_standin(message_limits=ApiLimits(rate=0.4, burst=1, in_flight=4))
    assert sonet.send(B2B_ORDER).status_code == 201
    refused = sonet.send(B2B_ORDER)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3"  # 2.5 s, rounded up
    assert message_error(refused)["Code"] == "THROTTLED"
    sonet.advance(2.5)
    assert sonet.send(B2B_ORDER).status_code == 200  # DUPLICATE


def test_more_than_the_in_flight_limit_is_429(start_standin):
    """At most `in_flight` requests of one company and API at once: one more, while they are slow, is 429."""
    faults = Faults(slow_share=1.0, slow_seconds=1.5)
    sonet = start_standin(query_limits=ApiLimits(rate=100, burst=100, in_flight=2), faults=faults)
    limit = sonet.standin.companies["01"].in_flight["query"]
    answers: list[int] = []
    slow = [threading.Thread(target=lambda: answers.append(sonet.post_graphql(QUERY).status_code)) for _ in range(2)]
    for thread in slow:
        thread.start()
    wait_until(lambda: limit.count == 2, what="two requests in flight")
    refused = requests.post(f"{sonet.base_url}/graphql", json={"query": QUERY}, headers=sonet.headers(), timeout=5)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    for thread in slow:
        thread.join(timeout=10)
    assert answers == [200, 200]


def test_maintenance_is_503_with_the_seconds_left(sonet: SonetClient):
    """During maintenance both APIs answer 503 UNAVAILABLE with Retry-After = the seconds left, rounded up."""
    sonet.admin_json("POST", "/maintenance", json={"seconds": 90})
    query, message = _both(sonet)
    assert _codes(query, message) == (503, "UNAVAILABLE", 503, "UNAVAILABLE")
    assert query.headers["Retry-After"] == message.headers["Retry-After"] == "90"
    sonet.advance(30.5)
    assert sonet.post_graphql(QUERY).headers["Retry-After"] == "60"
    sonet.advance(59.5)
    assert sonet.post_graphql(QUERY).status_code == 200
    sonet.admin_json("POST", "/maintenance", json={"seconds": 600})
    sonet.admin_json("DELETE", "/maintenance")
    assert sonet.post_graphql(QUERY).status_code == 200


def test_maintenance_comes_after_authentication(sonet: SonetClient):
    """Checks run in the contract's order: a wrong token is 401 even during maintenance."""
    sonet.admin_json("POST", "/maintenance", json={"seconds": 60})
    assert sonet.post_graphql(QUERY, token="wrong").status_code == 401


def test_random_unavailability_is_503_with_retry_after(start_standin):
    """With `unavailable_share`, requests that pass the throttle answer 503 UNAVAILABLE with a Retry-After;
    switching the fault off through the admin API ends it."""
    sonet = start_standin(faults=Faults(unavailable_share=1.0, unavailable_retry_after=2))
    query, message = _both(sonet)
    assert _codes(query, message) == (503, "UNAVAILABLE", 503, "UNAVAILABLE")
    assert query.headers["Retry-After"] == "2"
    sonet.admin_json("POST", "/faults", json={"unavailable_share": 0})
    assert sonet.post_graphql(QUERY).status_code == 200
    counters = sonet.admin_json("GET", "/companies/01/counters")
    assert counters["responses"] == {"query": {"200": 1, "503": 1}, "message": {"503": 1}}
