"""The application as a whole: health, background ERP activity, and a broken record answering INTERNAL."""

from __future__ import annotations

import requests

from tests.standin.standin_http import START, SonetClient, parse_instant, wait_until


def test_health_answers_without_credentials(sonet: SonetClient):
    """`GET /health` is open and lists the company codes (never tokens)."""
    response = requests.get(f"{sonet.base_url}/health", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok", "companies": ["01"]}


def test_erp_activity_runs_in_the_background_on_the_stand_in_clock(start_standin):
    """With `changes_per_minute`, records change while the server runs, paced by the stand-in's clock."""
    sonet = start_standin(changes_per_minute=600)

    def changed() -> int:
        entities = ("items", "customers", "customerSegments")
        return sum(parse_instant(r["dateModified"]) >= START for e in entities for r in sonet.state(e))

    assert changed() == 0
    sonet.advance(6)  # 60 changes are due
    wait_until(lambda: changed() > 0, what="background changes")
    assert 0 < changed() <= 60


def test_a_record_the_schema_cannot_answer_is_an_internal_error(sonet: SonetClient):
    """A value that cannot be serialized (a float for a Decimal) answers HTTP 200 with code INTERNAL,
    without leaking internals into the message."""
    code = sonet.state("items")[0]["itemCode"]
    sonet.change("items", [{"itemCode": code, "listPrice": 1.5}])
    answer = sonet.graphql("{ items(first: 500) { edges { node { itemCode listPrice } } } }")
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["INTERNAL"]
    assert answer["errors"][0]["message"] == "internal error"
