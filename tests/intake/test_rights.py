"""The published rights enforced at the door (intake/rights_gate.py): over HTTP, single and batch, and
for `orders enqueue`. Seed data: C10042-1 is an ADMIN and C10042-2 (osto@makinen.example) a BUYER of
C10042; C10666 is order-blocked; C10999 is DELETED. The example order's net total is 157.62."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.shop import ShopConfig
from sonet_pipeline.config.tenants import OrderRights, SonetConnection, Tenant
from sonet_pipeline.intake.enqueue_file import enqueue_file
from sonet_pipeline.intake.rights_gate import CHECK_SECONDS, PublishedRights
from sonet_pipeline.intake.server import RunningIntake
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.store import Snapshot
from tests.intake.conftest import TOKENS, Client, order
from tests.intake.rights_snapshot import publish, seed_records
from tests.rights.samples import RIGHTS

BLOCKED_SEE_ONLY = {"rule": "blocked-see-only", "when": {"order_blocked": True}, "see_prices": True, "can_order": False}
SHOP = ShopConfig.model_validate({"rights": [BLOCKED_SEE_ONLY, *RIGHTS]})
ADMIN = {"kind": "account", "customerNumber": "C10042", "contactId": "C10042-1"}
BUYER = {"kind": "account", "customerNumber": "C10042", "contactId": "C10042-2"}
GUEST = {"kind": "guest", "name": "Maija Meikäläinen", "email": "maija@example.fi"}


def tenant(name: str, **order_rights: Any) -> Tenant:
    sonet = SonetConnection(base_url="http://127.0.0.1:9", company="01", token_env="SONET_TOKEN")
    return Tenant(
        name=name,
        sonet=sonet,
        intake_token_env="ACME_INTAKE_TOKEN",
        shop=SHOP,
        order_rights=OrderRights(**order_rights),
    )


STRICT, KEEPING, NO_GUESTS, UNSYNCED = (
    tenant("strict"),
    tenant("keeping", not_allowed="store_failed"),
    tenant("noguests", guest_orders=False),
    tenant("unsynced"),
)


def placed_by(customer: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return order(customer=dict(customer), **changes)


def small(customer: dict[str, Any]) -> dict[str, Any]:
    """An order of net 59.90 (under the buyers' limit)."""
    made = placed_by(customer)
    made["lines"] = [{"sku": "BOOT-PRO-43", "quantity": "1", "unitPrice": "59.90", "vatRate": "25.5"}]
    return made


class Snapshots:
    """Each tenant's published snapshot folder under tmp; `unsynced` has none."""

    def __init__(self, root) -> None:
        self.root = root
        self.customers, self.segments = seed_records()
        for name in ("strict", "keeping", "noguests"):
            publish(root / name, self.customers, self.segments)

    def __call__(self, name: str) -> Snapshot:
        return Snapshot(self.root / name)

    def block(self, name: str, number: str) -> None:
        """Sonet blocks a customer and the next sync publishes it."""
        changed = copy.deepcopy(self.customers)
        for record in changed:
            if record["customerNumber"] == number:
                record["orderBlocked"] = True
                record["dateModified"] = "2026-11-28T05:00:00.000Z"
        publish(self.root / name, changed, self.segments)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("rights")
    snapshots, clock = Snapshots(root), ManualClock()
    tenants = [STRICT, KEEPING, NO_GUESTS, UNSYNCED]
    with (
        open_outbox(root / "outbox.sqlite") as outbox,
        RunningIntake(
            tenants, outbox, token_lookup=TOKENS.get, rights=PublishedRights(snapshots, clock=clock)
        ) as running,
    ):
        yield Client(running.base_url), outbox, snapshots, clock


def test_a_login_its_rights_allow_is_stored(world):
    client, outbox, _, _ = world
    answer = client.post("/orders", placed_by(ADMIN), tenant="strict")
    assert answer.status_code == 202, answer.text
    assert outbox.get(answer.json()["message_id"]) is not None
    assert client.post("/orders", small(BUYER), tenant="strict").status_code == 202


@pytest.mark.parametrize(
    ("customer", "rule", "field", "limit"),
    [
        (BUYER, "buyers", "lines", "100.00"),  # 157.62 over the buyer's limit
        ({**ADMIN, "customerNumber": "C10666", "contactId": "C10666-1"}, "blocked-see-only", None, None),
        ({"kind": "account", "customerNumber": "C10999", "contactId": "C10999-1"}, "no_account", None, None),
        ({"kind": "account", "customerNumber": "C10042"}, "no_login", "customer.contactId", None),
        ({"kind": "account", "customerNumber": "C10042", "email": "someone@else.example"}, "no_login", None, None),
    ],
)
def test_an_order_the_rights_do_not_allow_is_422_not_allowed_and_not_stored(world, customer, rule, field, limit):
    """The error body names the code, the rule that decided, the limit (when it decided) and the field."""
    client, outbox, _, _ = world
    sent = placed_by(customer)
    answer = client.post("/orders", sent, tenant="strict")
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["rule"], error["limit"]) == ("NOT_ALLOWED", rule, limit)
    assert set(error) == {"code", "message", "field", "rule", "limit"} and error["message"]
    if field is not None:
        assert error["field"] == field
    assert outbox.find("strict", sent["orderNumber"]) is None


def test_a_blocked_customer_is_refused_from_the_sync_that_publishes_the_block(world):
    """Rights are read again when the snapshot changes (checked every CHECK_SECONDS): an order allowed
    before Sonet blocked the customer is refused once the sync has published the block."""
    client, outbox, snapshots, clock = world
    before = placed_by(ADMIN)
    stored = client.post("/orders", before, tenant="noguests")
    assert stored.status_code == 202
    snapshots.block("noguests", "C10042")
    assert client.post("/orders", placed_by(ADMIN), tenant="noguests").status_code == 202  # not checked yet
    clock.advance(CHECK_SECONDS)
    after = placed_by(ADMIN)
    refused = client.post("/orders", after, tenant="noguests")
    assert refused.status_code == 422 and refused.json()["error"]["rule"] == "blocked-see-only"
    assert outbox.find("noguests", after["orderNumber"]) is None
    # The order stored before the block, sent again (a retry after a lost answer), is the stored one.
    again = client.post("/orders", before, tenant="noguests")
    assert (again.status_code, again.json()) == (200, stored.json())
    entries = client.post("/orders/batch", [before, after], tenant="noguests").json()
    assert [(e["status"], e.get("message_id")) for e in entries] == [(200, stored.json()["message_id"]), (422, None)]


def test_guest_orders_follow_the_tenant_setting(world):
    client, outbox, _, _ = world
    assert client.post("/orders", placed_by(GUEST), tenant="strict").status_code == 202
    sent = placed_by(GUEST)
    refused = client.post("/orders", sent, tenant="noguests")
    assert refused.status_code == 422
    assert (refused.json()["error"]["rule"], refused.json()["error"]["field"]) == ("guest_orders", "customer.kind")
    assert outbox.find("noguests", sent["orderNumber"]) is None


def test_before_the_first_sync_account_orders_are_503_rights_unknown_and_guests_go_in(world):
    """No published snapshot: the rights cannot be known, so an account order is not taken (503 with
    Retry-After: the web shop retries after the sync); a guest order needs no rights."""
    client, outbox, _, _ = world
    sent = placed_by(ADMIN)
    answer = client.post("/orders", sent, tenant="unsynced")
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
    assert answer.json()["error"]["code"] == "RIGHTS_UNKNOWN"
    assert outbox.find("unsynced", sent["orderNumber"]) is None
    assert client.post("/orders", placed_by(GUEST), tenant="unsynced").status_code == 202
    [entry] = client.post("/orders/batch", [sent], tenant="unsynced").json()
    assert (entry["status"], entry["error"]["code"]) == (503, "RIGHTS_UNKNOWN")


def test_store_failed_keeps_a_refused_order_failed_for_an_operator_never_claimable(world):
    """With `order_rights.not_allowed: store_failed` the answer is still 422 NOT_ALLOWED, and names the
    failed message that keeps the order; the same order again names the same message; no send run
    can claim it."""
    client, outbox, _, clock = world
    sent = placed_by(BUYER)
    answer = client.post("/orders", sent, tenant="keeping")
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["error"]["code"], body["error"]["rule"], body["state"]) == ("NOT_ALLOWED", "buyers", "failed")
    kept = outbox.get(body["message_id"])
    assert kept is not None and kept.order == sent and kept.state == "failed"
    assert kept.error is not None and kept.error.code == "NOT_ALLOWED" and "100.00" in kept.error.message
    again = client.post("/orders", sent, tenant="keeping").json()
    assert again["message_id"] == body["message_id"]
    assert outbox.claim("keeping", now=clock.now(), limit=100, owner="test", claim_seconds=10) == []


def test_the_batch_judges_rights_per_order(world):
    client, outbox, _, _ = world
    allowed, over, invalid, guest = (
        placed_by(ADMIN),
        placed_by(BUYER),
        placed_by(ADMIN, currency="euro"),
        placed_by(GUEST),
    )
    answers = client.post("/orders/batch", [allowed, over, invalid, guest], tenant="strict").json()
    assert [a["status"] for a in answers] == [202, 422, 422, 202]
    assert (answers[1]["error"]["code"], answers[1]["error"]["rule"], answers[1]["error"]["limit"]) == (
        "NOT_ALLOWED",
        "buyers",
        "100.00",
    )
    assert answers[2]["error"]["code"] == "SCHEMA"
    assert outbox.find("strict", over["orderNumber"]) is None
    kept = client.post("/orders/batch", [over, allowed], tenant="keeping").json()
    assert [(a["status"], a["state"]) for a in kept] == [(422, "failed"), (202, "pending")]
    assert kept[0]["error"]["rule"] == "buyers" and outbox.get(kept[0]["message_id"]).state == "failed"


def test_orders_enqueue_applies_the_same_rights_per_order(tmp_path):
    snapshots = Snapshots(tmp_path)
    rights = PublishedRights(snapshots)
    lines = [placed_by(ADMIN), placed_by(BUYER), placed_by(GUEST)]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    with open_outbox(tmp_path / "outbox.sqlite") as outbox:
        report = enqueue_file(path, tenant=STRICT, outbox=outbox, rights=rights)
        assert [o.outcome for o in report.orders] == ["accepted", "refused", "accepted"]
        refused = report.orders[1]
        assert refused.error is not None and refused.error.code == "NOT_ALLOWED"
        assert "line 2" in refused.describe() and "rule buyers, limit 100.00" in refused.describe()
        assert report.exit_code == 1 and outbox.find("strict", lines[1]["orderNumber"]) is None

        kept = enqueue_file(path, tenant=KEEPING, outbox=outbox, rights=rights)
        assert [o.outcome for o in kept.orders] == ["accepted", "kept_failed", "accepted"]
        assert kept.orders[1].state == "failed" and kept.exit_code == 1

        unknown = enqueue_file(path, tenant=UNSYNCED, outbox=outbox, rights=rights)
        assert [o.outcome for o in unknown.orders] == ["refused", "refused", "accepted"]
        assert unknown.orders[0].error is not None and unknown.orders[0].error.code == "RIGHTS_UNKNOWN"


def test_published_rights_are_read_when_they_change_and_kept_when_unreadable(tmp_path, caplog):
    """No snapshot: unknown (None). A published one is read; an initial load that has not reached the
    customers is still unknown; a snapshot that cannot be read keeps the last book (logged)."""
    clock, folder = ManualClock(), tmp_path / "snapshot"
    broken: list[bool] = []

    def snapshot_for(name: str) -> Snapshot:
        if broken:
            raise OSError("the disk went away")
        return Snapshot(folder)

    rights = PublishedRights(snapshot_for, clock=clock)
    assert rights.book(STRICT) is None
    customers, segments = seed_records()
    publish(folder, customers, segments, synced=False)
    clock.advance(CHECK_SECONDS)
    assert rights.book(STRICT) is None
    publish(folder, customers, segments)
    assert rights.fresh("strict") and rights.book(STRICT) is None  # checked within CHECK_SECONDS: not read
    clock.advance(CHECK_SECONDS)
    book = rights.book(STRICT)
    assert book is not None and "osto@makinen.example" in book.rights
    broken.append(True)
    clock.advance(CHECK_SECONDS)
    assert rights.book(STRICT) is book
    assert "the disk went away" in caplog.text


def test_orders_enqueue_answers_an_order_stored_before_its_rights_changed_as_a_duplicate(tmp_path):
    rights = PublishedRights(Snapshots(tmp_path))
    over = placed_by(BUYER)
    path = tmp_path / "order.json"
    path.write_text(json.dumps(over))
    with open_outbox(tmp_path / "outbox.sqlite") as outbox:
        [earlier] = outbox.enqueue_many("strict", [over], actor="test", now=ManualClock().now())
        [entry] = enqueue_file(path, tenant=STRICT, outbox=outbox, rights=rights).orders
    assert (entry.outcome, entry.message_id) == ("duplicate", earlier.message_id)
