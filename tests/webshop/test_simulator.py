"""The simulated web shop at work (webshop/simulator.py), with an intake that answers as told."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sonet_pipeline.common.blobs import FolderBlobs
from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.shop.publish import publish
from sonet_pipeline.webshop.intake_client import NO_ANSWER, Answer
from sonet_pipeline.webshop.order_builder import REFUSED_AT_DOOR, REFUSED_BY_SONET, VALID, ShopOrder
from sonet_pipeline.webshop.pace import Pace
from sonet_pipeline.webshop.simulator import ShopTenant, WebShop, meant

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


class Intake:
    """Records what is posted; answers 202, or `next_status` once."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str, dict[str, Any]]] = []
        self.batches: list[int] = []
        self.next_status: int | None = None

    def post(self, tenant: str, token: str, order: dict[str, Any]) -> Answer:
        self.posted.append((tenant, token, order))
        status, self.next_status = 202 if self.next_status is None else self.next_status, None
        if status == 202 and order["customer"].get("contactId", "").endswith("-viewer"):
            return Answer(422, error_code="NOT_ALLOWED", error_message="may not order")
        return Answer(status, message_id="m" if status == 202 else None, state="pending")

    def post_batch(self, tenant: str, token: str, orders: list[dict[str, Any]]) -> list[Answer]:
        self.batches.append(len(orders))
        return [self.post(tenant, token, order) for order in orders]


def publish_files(folder: Path) -> FolderBlobs:
    files = FolderBlobs(folder)
    catalogue = [{"sku": "IT1", "type": "simple", "itemCode": "IT1", "price": "9.90", "currency": "EUR",
                  "vatRate": "25.5", "variants": []}]  # fmt: skip
    accounts = [{"accountId": "C1", "name": "Oy", "orderBlocked": False, "addresses": []}]
    logins = [
        {"login": "b@c1.example", "email": "b@c1.example", "accountId": "C1", "contactId": "C1-1"},
        {"login": "v@c1.example", "email": "v@c1.example", "accountId": "C1", "contactId": "C1-viewer"},
    ]
    rights = [
        {"login": "b@c1.example", "accountId": "C1", "canOrder": True, "orderLimit": None},
        {"login": "v@c1.example", "accountId": "C1", "canOrder": False, "orderLimit": None},
    ]
    data = {"catalogue": catalogue, "accounts": accounts, "logins": logins, "rights": rights}
    publish(files, data, tenant=folder.name, source={}, now=NOW)
    return files


def shop_of(tmp_path: Path, intake: Intake, pace: Pace, said: list[str]) -> WebShop:
    tenants = [ShopTenant(name, f"token-{name}", FolderBlobs(tmp_path / name)) for name in ("acme", "nordic")]
    clock = ManualClock(NOW)
    return WebShop(intake, tenants, pace, clock=clock, rng=random.Random(1), report=said.append, prefix="W1")  # type: ignore[arg-type]


def test_waits_for_the_first_publish_then_orders_for_each_tenant_in_turn(tmp_path: Path):
    intake, said = Intake(), []
    shop = shop_of(tmp_path, intake, Pace(refuse_every=0), said)
    shop.place_one()
    shop.place_one()
    assert intake.posted == []
    assert sum("waiting for the first publish" in line for line in said) == 2  # once per tenant
    publish_files(tmp_path / "acme")
    shop.place_one()
    publish_files(tmp_path / "nordic")
    shop.place_one()
    shop.place_one()
    assert [(tenant, token) for tenant, token, _ in intake.posted] == [
        ("acme", "token-acme"),
        ("nordic", "token-nordic"),
        ("acme", "token-acme"),
    ]
    assert [order["orderNumber"] for _, _, order in intake.posted] == ["W1-00001", "W1-00002", "W1-00003"]
    assert not any("token-" in line for line in said), "the token is never said"


def test_an_order_without_a_decision_is_kept_and_posted_again_first(tmp_path: Path):
    intake, said = Intake(), []
    publish_files(tmp_path / "acme")
    publish_files(tmp_path / "nordic")
    shop = shop_of(tmp_path, intake, Pace(refuse_every=0), said)
    intake.next_status = 503
    shop.place_one()
    shop.place_one()
    first, again = intake.posted[0][2], intake.posted[1][2]
    assert again == first and "kept to try again" in said[0]
    intake.next_status = NO_ANSWER
    shop.place_one()
    shop.place_one()
    assert intake.posted[3][2] == intake.posted[2][2] != first


def test_refused_orders_come_at_the_pace_and_are_said_as_meant(tmp_path: Path):
    intake, said = Intake(), []
    publish_files(tmp_path / "acme")
    publish_files(tmp_path / "nordic")
    shop = shop_of(tmp_path, intake, Pace(refuse_every=2), said)
    for _ in range(4):
        shop.place_one()
    skus = [order["lines"][0]["sku"] for _, _, order in intake.posted]
    assert skus[1].startswith("RETIRED-")  # the 2nd: Sonet will refuse it
    assert intake.posted[3][2]["customer"]["contactId"] == "C1-viewer"  # the 4th: refused at the door
    assert "Sonet will refuse it (UNKNOWN_ITEM)" in said[1]
    assert said[3].endswith("refused as meant")
    assert not any("NOT as meant" in line for line in said)


def test_a_burst_posts_orders_of_one_tenant_in_one_batch(tmp_path: Path):
    intake, said = Intake(), []
    publish_files(tmp_path / "acme")
    shop = shop_of(tmp_path, intake, Pace(refuse_every=0, burst=7), said)
    shop.place_burst(7)
    assert intake.batches == [7]
    assert {tenant for tenant, _, _ in intake.posted} == {"acme"}
    assert len({order["orderNumber"] for _, _, order in intake.posted}) == 7


def test_run_stops_when_told(tmp_path: Path):
    intake, said = Intake(), []
    publish_files(tmp_path / "acme")
    shop = shop_of(tmp_path, intake, Pace(orders_per_minute=600, refuse_every=0), said)
    stop = threading.Event()
    stop.set()
    shop.run(stop)  # returns at once
    assert intake.posted == []


def test_meant():
    order = {"orderNumber": "X", "lines": []}
    assert meant(ShopOrder(VALID, order, ""), Answer(202, "m", "pending"))
    assert meant(ShopOrder(VALID, order, ""), Answer(200, "m", "pending"))
    assert not meant(ShopOrder(VALID, order, ""), Answer(422, error_code="NOT_ALLOWED"))
    assert meant(ShopOrder(REFUSED_BY_SONET, order, ""), Answer(202, "m", "pending"))
    assert meant(ShopOrder(REFUSED_AT_DOOR, order, ""), Answer(422, error_code="NOT_ALLOWED"))
    assert not meant(ShopOrder(REFUSED_AT_DOOR, order, ""), Answer(202, "m", "pending"))
