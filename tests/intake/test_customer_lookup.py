"""`POST /tenants/{tenant}/customers/lookup` over HTTP (intake/customer_lookup.py): one ACTIVE customer's
account id and name, 404, 409 AMBIGUOUS, 429 over the token's rate, 401, 400 for a bad body, 503 before
a sync; from the published snapshot. Seed: C10042 (2345678-0, FI23456780, info@makinen.example, its
contact osto@makinen.example); C10999 (4567893-1) is DELETED; C20001 and C20002 share ostot@yhteinen.example."""

from __future__ import annotations

import copy

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.tenants import CustomerLookup, SonetConnection, Tenant
from sonet_pipeline.intake.rights_gate import PublishedRights
from sonet_pipeline.intake.server import RunningIntake
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.store import Snapshot
from tests.intake.conftest import TOKENS, WRONG_TOKEN, Client
from tests.intake.rights_snapshot import publish, seed_records

NAME = "Rakennus Oy Mäkinen & Poika"


def tenant(name: str, per_minute: float = 6_000, burst: int = 1_000) -> Tenant:
    sonet = SonetConnection(base_url="http://127.0.0.1:9", company="01", token_env="SONET_TOKEN")
    limits = CustomerLookup(per_minute=per_minute, burst=burst)
    return Tenant(name=name, sonet=sonet, intake_token_env="ACME_INTAKE_TOKEN", customer_lookup=limits)


#: `slow` allows a burst of 2, then one lookup every 10 s; `unsynced` has no snapshot.
ACME, SLOW, UNSYNCED = tenant("acme"), tenant("slow", per_minute=6, burst=2), tenant("unsynced")


def sharing(customers: list[dict], number: str) -> dict:
    """A copy of C10042 as customer `number`, with no ids of its own and a contact at the shared address."""
    [template] = [c for c in customers if c["customerNumber"] == "C10042"]
    made = copy.deepcopy(template)
    made.update(customerNumber=number, name=f"Yhteinen {number}", businessId=None, vatNumber=None, email=None)
    made["contacts"] = [{**made["contacts"][0], "contactId": f"{number}-1", "email": "Ostot@Yhteinen.example"}]
    return made


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("lookup")
    customers, segments = seed_records()
    customers += [sharing(customers, "C20001"), sharing(customers, "C20002")]
    publish(root / "snapshot", customers, segments)

    def snapshot_for(name: str) -> Snapshot:
        return Snapshot(root / ("none" if name == "unsynced" else "snapshot"))

    clock = ManualClock()
    with (
        open_outbox(root / "outbox.sqlite") as outbox,
        RunningIntake(
            [ACME, SLOW, UNSYNCED],
            outbox,
            clock=clock,
            token_lookup=TOKENS.get,
            rights=PublishedRights(snapshot_for, clock=clock),
        ) as running,
    ):
        yield Client(running.base_url), clock


@pytest.mark.parametrize(
    "body",
    [
        {"businessId": " 2345678-0 "},
        {"vatNumber": "fi 2345 6780"},
        {"email": "INFO@makinen.example"},
        {"email": "osto@makinen.example"},  # a contact's address identifies its customer
    ],
)
def test_one_active_customer_is_answered_by_account_id_and_name_only(world, body):
    client, _ = world
    answer = client.post("/customers/lookup", body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accountId": "C10042", "name": NAME}


def test_no_match_is_404_and_several_are_409_naming_none(world):
    client, _ = world
    missing = client.post("/customers/lookup", {"email": "nobody@example.com"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "CUSTOMER_NOT_FOUND")
    deleted = client.post("/customers/lookup", {"businessId": "4567893-1"})  # C10999, DELETED
    assert deleted.status_code == 404
    several = client.post("/customers/lookup", {"email": "ostot@yhteinen.example"})
    assert (several.status_code, several.json()["error"]["code"]) == (409, "AMBIGUOUS")
    assert "C2000" not in several.text and "Yhteinen" not in several.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"email": "a@b.example", "businessId": "2345678-0"}, None),
        ({"phone": "+358 40 123"}, "phone"),
        ({"email": "   "}, "email"),
        ({"email": 42}, "email"),
        ({"email": "x" * 201}, "email"),
        (["email"], None),
    ],
)
def test_a_bad_body_is_400_naming_the_key(world, body, field):
    client, _ = world
    answer = client.post("/customers/lookup", body)
    assert answer.status_code == 400, answer.text
    assert (answer.json()["error"]["code"], answer.json()["error"]["field"]) == ("INVALID_LOOKUP", field)
    assert client.post("/customers/lookup", data=b"{not json").json()["error"]["code"] == "INVALID_JSON"


def test_a_wrong_or_missing_token_is_401(world):
    client, _ = world
    assert client.post("/customers/lookup", {"email": "osto@makinen.example"}, token=WRONG_TOKEN).status_code == 401
    assert client.post("/customers/lookup", {"email": "osto@makinen.example"}, token=None).status_code == 401


def test_over_the_tokens_rate_is_429_with_retry_after_and_the_bucket_refills(world):
    client, clock = world
    body = {"email": "osto@makinen.example"}
    assert [client.post("/customers/lookup", body, tenant="slow").status_code for _ in range(2)] == [200, 200]
    over = client.post("/customers/lookup", body, tenant="slow")
    assert (over.status_code, over.json()["error"]["code"]) == (429, "RATE_LIMITED")
    assert over.headers["Retry-After"] == "10"
    assert client.post("/customers/lookup", body, tenant="slow", token=WRONG_TOKEN).status_code == 401
    clock.advance(10)
    assert client.post("/customers/lookup", body, tenant="slow").status_code == 200
    assert client.post("/customers/lookup", body, tenant="acme").status_code == 200  # another tenant's bucket


def test_before_a_sync_published_the_customers_it_is_503_with_retry_after(world):
    client, _ = world
    answer = client.post("/customers/lookup", {"email": "osto@makinen.example"}, tenant="unsynced")
    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "CUSTOMERS_UNKNOWN")
    assert int(answer.headers["Retry-After"]) > 0
