"""The shop's view end to end: sync from the running stand-in, the shop sensor, the shop run, the files.

A change in Sonet (a price, a deleted variant, a customer moved to another segment, an order's
status) reaches the published files after one sync cycle, and nothing else changes: the other files
are not rewritten and the other lines of the changed files are byte for byte the same.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import RunRequest, SkipReason, build_sensor_context
from dagster_aws.s3 import S3Resource

from sonet_pipeline.cli.runs.send import run_send
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.config.settings import data_dir
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import execute_job, prepare_instance
from sonet_pipeline.jobs.shop import SHOP_JOB
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.resources.outbox import OutboxResource
from sonet_pipeline.resources.publish import PublishResource
from sonet_pipeline.resources.store import StoreResource
from tests.standin.standin_http import TOKENS, SonetClient

pytestmark = pytest.mark.slow

#: Rules with several segments and roles; `{blocked_may_order}` lets a test see the blocked customer's note.
RIGHTS_RULES = """
      rights:
        - {{rule: blocked, when: {{order_blocked: true}}, see_prices: true, can_order: {blocked_may_order}}}
        - {{rule: viewers, when: {{roles: [VIEWER, null]}}, see_prices: true, can_order: false}}
        - rule: electricians
          when: {{segments: [B2B-SAHKO], roles: [ADMIN, BUYER]}}
          see_prices: true
          can_order: true
          order_limit: "5000.00"
        - {{rule: builders, when: {{segments: [B2B-RAKENNUS, B2B-TEOLLISUUS]}}, see_prices: true, can_order: true}}
        - {{rule: default, see_prices: false, can_order: false}}
"""
SHOP = """
    variant_strategy: item_per_variant
    shop:
      variant_strategy_by_group: {GLOVES: comment_field}
      options:
        - product_group: GLOVES
          axes: [{name: Size, values: ["7", "8", "9"]}]""" + RIGHTS_RULES.format(blocked_may_order="false")


class Deployment:
    """The code location on the stand-in's clock: sync runs, shop sensor ticks and shop runs."""

    def __init__(self, sonet: SonetClient, folder: Path, monkeypatch: pytest.MonkeyPatch, shop: str = SHOP) -> None:
        path = folder / "tenants.yaml"
        path.write_text(
            "tenants:\n  - name: acme\n"
            f"    sonet: {{base_url: '{sonet.base_url}', company: '01', token_env: ACME_T}}\n" + shop
        )
        monkeypatch.setenv("ACME_T", TOKENS["01"])
        self.sonet = sonet
        self.tenants = load_tenants(path)
        self.defs = build_definitions(self.tenants, clock=sonet.clock)
        self.instance = prepare_instance()
        self.folder = data_dir() / "published" / "acme"

    def sync(self) -> None:
        assert run_sync(self.defs, self.instance, self.tenants, now=datetime.now(UTC)).success

    def tick(self) -> RunRequest | SkipReason:
        sensor = self.defs.resolve_sensor_def("sonet_shop_sensor")
        resources = {
            "store": StoreResource(),
            "outbox": OutboxResource(),
            "publish": PublishResource(s3=S3Resource()),
            "clock": self.sonet.clock,
        }
        with build_sensor_context(instance=self.instance, resources=resources) as context:
            return sensor(context)

    def publish(self) -> RunRequest:
        request = self.tick()
        assert isinstance(request, RunRequest), request
        result = execute_job(
            self.defs.resolve_job_def(SHOP_JOB),
            self.instance,
            tags=request.tags,
            asset_selection=list(request.asset_selection or ()),
            asset_check_selection=list(request.asset_check_keys or ()),
        )
        assert result.success
        self.evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
        self.metadata = {
            e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()
        }
        return request

    def enqueue(self, *orders: dict[str, Any]) -> list[str]:
        """Web orders into the outbox, as the intake puts them there; their MessageIds."""
        with open_outbox() as outbox:
            results = outbox.enqueue_many("acme", list(orders), actor="test", now=self.sonet.clock.now())
        return [r.message_id for r in results]

    def send(self) -> dict[str, Any]:
        """A send run now: the outbox's due messages to Sonet; the run's figures."""
        summary = run_send(self.defs, self.instance, self.tenants)
        assert summary.success, summary.failures
        return summary.tenants["acme"]["messages_delivered"]

    def lines(self, name: str) -> dict[str, str]:
        """The file's lines by their key (sku, accountId, login, orderNumber)."""
        key = {
            "catalogue": "sku",
            "accounts": "accountId",
            "logins": "login",
            "rights": "login",
            "order_status": "orderNumber",
        }[name]
        text = (self.folder / f"{name}.jsonl").read_text(encoding="utf-8")
        return {json.loads(line)[key]: line for line in text.splitlines()}

    def records(self, name: str) -> dict[str, dict[str, Any]]:
        return {key: json.loads(line) for key, line in self.lines(name).items()}

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def deployment(start_standin, tmp_path, monkeypatch) -> Deployment:
    sonet = start_standin(items=400, lag_seconds=0, late_share=0.0)
    return Deployment(sonet, tmp_path, monkeypatch)


def files_of(request: RunRequest) -> set[str]:
    return {key.path[-1] for key in request.asset_selection or ()}


def test_first_publish_covers_every_product_type_account_login_and_right(deployment):
    waiting = deployment.tick()  # nothing synced: nothing to publish
    assert isinstance(waiting, SkipReason) and "not synced yet: acme" in (waiting.skip_message or "")
    deployment.sync()
    request = deployment.publish()
    assert files_of(request) == {"catalogue", "accounts", "logins", "rights", "order_status", "prices"}

    catalogue = deployment.records("catalogue")
    boots = catalogue["BOOT-PRO"]
    assert boots["type"] == "configurable" and boots["axes"] == ["Size"]
    assert [v["itemCode"] for v in boots["variants"]] == [
        f"BOOT-PRO-{s}" for s in ("39", "40", "41", "42", "43", "45", "46")
    ]
    assert all(v["type"] == "variant" for v in boots["variants"])
    gloves = catalogue["GLOVE-WORK"]  # one Sonet item, sizes offered by the shop (comment_field for GLOVES)
    assert gloves["type"] == "configurable"
    assert [(v["type"], v["itemCode"], v["attributes"]) for v in gloves["variants"]] == [
        ("option", "GLOVE-WORK", [{"name": "Size", "value": size}]) for size in ("7", "8", "9")
    ]
    assert any(p["type"] == "simple" for p in catalogue.values())
    state = {i["itemCode"]: i for i in deployment.sonet.state("items")}
    hidden = {c for c, i in state.items() if i["status"] != "ACTIVE" or not i["webVisible"]}
    published = {v["itemCode"] for p in catalogue.values() for v in p.get("variants", [])} | {
        p["itemCode"] for p in catalogue.values() if p["type"] == "simple"
    }
    assert hidden and not hidden & published

    accounts = deployment.records("accounts")
    assert "C10042" in accounts and "C10999" not in accounts  # C10999 is DELETED
    rights = deployment.records("rights")
    assert rights["osto@makinen.example"]["canOrder"] and rights["osto@makinen.example"]["rule"] == "builders"
    blocked = rights["kari.laaksonen@laaksonen.example"]
    assert blocked["rule"] == "blocked" and not blocked["canOrder"] and blocked["canSeePrices"]
    assert {row["rule"] for row in rights.values()} >= {"blocked", "viewers", "builders", "default"}
    sample = deployment.metadata["rights"]["matrix_sample"].value.splitlines()  # why a buyer cannot order
    assert sample[0] == "| login | account | segments | role | can see prices | can order | order limit | rule | note |"
    assert "| kari.laaksonen@laaksonen.example | C10666 | B2B-RAKENNUS | BUYER | yes | no |  | blocked |  |" in sample
    assert "| osto@makinen.example | C10042 | B2B-RAKENNUS | BUYER | yes | yes | no limit | builders |  |" in sample
    assert len(sample) == 2 + 20 + 2 and sample[-1] == f"…and {len(rights) - 20} more"
    logins = deployment.records("logins")
    shared = [email for email in logins if email.endswith("tilitoimisto-0.example")]
    assert not shared  # an e-mail of two customers: withheld until Sonet is corrected

    manifest = deployment.manifest()
    assert {f["name"] for f in manifest["files"]} == {
        "catalogue.jsonl",
        "accounts.jsonl",
        "logins.jsonl",
        "rights.jsonl",
        "order_status.jsonl",
        "prices.jsonl",
    }
    assert manifest["source"]["high_water_marks"]["items"]
    for name, figures in deployment.metadata.items():  # Dagster's `dagster/uri`: where each file is
        assert figures["dagster/uri"].value == (deployment.folder / f"{name}.jsonl").absolute().as_uri()
    assert isinstance(deployment.tick(), SkipReason)  # up to date


def test_a_change_in_sonet_reaches_the_files_after_one_sync_cycle_and_nothing_else_changes(deployment):
    deployment.sync()
    deployment.publish()
    before = {name: deployment.lines(name) for name in ("catalogue", "accounts", "logins", "rights")}
    stamps = {p.name: p.stat().st_mtime_ns for p in deployment.folder.glob("*.jsonl")}

    deployment.sync()  # a cycle with no change in Sonet publishes nothing
    assert isinstance(deployment.tick(), SkipReason)

    sonet = deployment.sonet
    sonet.change("items", [{"itemCode": "BOOT-PRO-43", "listPrice": "61.90"}], delete=["BOOT-PRO-46"])
    sonet.change("customers", [{"customerNumber": "C10042", "segmentCodes": ["B2B-SAHKO"]}])
    sonet.advance(1)
    deployment.sync()
    request = deployment.publish()
    assert files_of(request) == {"catalogue", "accounts", "logins", "rights"}  # not order_status

    after = {name: deployment.lines(name) for name in before}
    changed = {
        name: {k for k in before[name].keys() | after[name].keys() if before[name].get(k) != after[name].get(k)}
        for name in before
    }
    matt, pekka = "matti.makinen@makinen.example", "osto@makinen.example"
    assert changed == {"catalogue": {"BOOT-PRO"}, "accounts": {"C10042"}, "logins": set(), "rights": {matt, pekka}}
    catalogue_run = deployment.metadata["catalogue"]  # only the model BOOT-PRO was built anew
    assert catalogue_run["groups_rebuilt"].value == 1 and catalogue_run["full_build"].value is False
    boots = json.loads(after["catalogue"]["BOOT-PRO"])
    prices = {v["itemCode"]: v["price"] for v in boots["variants"]}
    assert prices["BOOT-PRO-43"] == "61.90" and "BOOT-PRO-46" not in prices
    assert json.loads(after["accounts"]["C10042"])["segmentCodes"] == ["B2B-SAHKO"]
    moved = json.loads(after["rights"][pekka])
    assert moved["rule"] == "electricians" and moved["orderLimit"] == "5000.00"
    now = {p.name: p.stat().st_mtime_ns for p in deployment.folder.glob("*.jsonl")}
    assert now["logins.jsonl"] == stamps["logins.jsonl"] and now["order_status.jsonl"] == stamps["order_status.jsonl"]
    assert isinstance(deployment.tick(), SkipReason)


def test_colliding_variants_and_shared_emails_are_named_by_checks_and_the_rest_publishes(deployment):
    deployment.sonet.change(
        "items", [{"itemCode": "BOOT-PRO-45", "variantAttributes": [{"name": "Size", "value": "43"}]}]
    )
    deployment.sonet.advance(1)
    deployment.sync()
    deployment.publish()
    catalogue = deployment.records("catalogue")
    assert "BOOT-PRO" not in catalogue and "GLOVE-WORK" in catalogue
    checks = deployment.evaluations
    conflict = checks["variants_consistent"]
    assert not conflict.passed and "BOOT-PRO-43, BOOT-PRO-45" in conflict.metadata["products"].value
    emails = checks["logins_unique"]
    assert not emails.passed and "tilitoimisto-0.example" in emails.metadata["emails"].value


EXAMPLE_ORDER = json.loads(read_text("examples/commerce-order-b2b.json"))


def web_order(number: str, *skus: str) -> dict[str, Any]:
    """The contract's example web order under another order number, its lines' skus replaced by `skus`."""
    order = copy.deepcopy(EXAMPLE_ORDER)
    order["orderNumber"] = number
    for line, sku in zip(order["lines"], skus, strict=False):
        line["sku"] = sku
    return order


def test_order_status_follows_the_outbox_and_sonets_word_and_a_status_change_republishes_only_it(deployment):
    """Enqueued orders are `received`; after a send and a sync one is `sent` with Sonet's number and status,
    the one Sonet refused is `failed` naming the code; Sonet confirming the order reaches order_status.jsonl
    after one sync cycle, and no other file is rewritten."""
    deployment.sync()
    deployment.publish()
    good, refused = deployment.enqueue(web_order("WEB-200001"), web_order("WEB-200002", "BOOT-PRO-44"))
    assert files_of(deployment.publish()) == {"order_status"}  # the outbox moved: only its file
    received = deployment.records("order_status")
    assert {number: (row["messageId"], row["status"]) for number, row in received.items()} == {
        "WEB-200001": (good, "received"),
        "WEB-200002": (refused, "received"),
    }
    assert all(row["sonetOrderNumber"] is None and row["reason"] is None for row in received.values())
    assert received["WEB-200001"]["customerNumber"] == "C10042"

    figures = deployment.send()
    assert (figures["sent"], figures["failed"]) == (1, 1)
    [accepted] = deployment.sonet.admin_json("GET", "/companies/01/orders")
    assert accepted["messageId"] == good
    deployment.sonet.advance(1)
    deployment.sync()  # reads Sonet's salesOrders: the accepted order and its orderStatus
    assert files_of(deployment.publish()) == {"order_status"}
    sent, failed = (deployment.records("order_status")[n] for n in ("WEB-200001", "WEB-200002"))
    assert (sent["status"], sent["sonetOrderNumber"], sent["sonetOrderStatus"]) == (
        "sent",
        accepted["sonetOrderNumber"],
        "RECEIVED",
    )
    assert (failed["status"], failed["sonetOrderNumber"], failed["sonetOrderStatus"]) == ("failed", None, None)
    assert failed["reason"]["code"] == "UNKNOWN_ITEM" and "BOOT-PRO-44" in failed["reason"]["message"]
    assert failed["reason"]["field"] == "Lines/Line[1]/ItemCode"
    metadata = deployment.metadata["order_status"]
    assert (metadata["orders_sent"].value, metadata["orders_failed"].value) == (1, 1)
    assert "BOOT-PRO-44" in metadata["failed_sample"].value
    before = deployment.lines("order_status")
    stamps = {p.name: p.stat().st_mtime_ns for p in deployment.folder.glob("*.jsonl")}

    deployment.sync()  # nothing changed in Sonet or the outbox: nothing to publish
    assert isinstance(deployment.tick(), SkipReason)

    deployment.sonet.change("salesOrders", [{"messageId": good, "orderStatus": "CONFIRMED"}])
    deployment.sonet.advance(1)
    deployment.sync()
    request = deployment.publish()
    assert files_of(request) == {"order_status"}
    assert request.asset_check_keys == []  # order_status has no checks
    after = deployment.lines("order_status")
    assert after["WEB-200002"] == before["WEB-200002"]  # the refused order's line, byte for byte
    confirmed = json.loads(after["WEB-200001"])
    assert (confirmed["status"], confirmed["sonetOrderNumber"], confirmed["sonetOrderStatus"]) == (
        "sent",
        accepted["sonetOrderNumber"],
        "CONFIRMED",
    )
    assert confirmed["updatedAt"] > sent["updatedAt"]  # Sonet's dateModified of the change
    now = {p.name: p.stat().st_mtime_ns for p in deployment.folder.glob("*.jsonl")}
    assert {name for name in now if now[name] != stamps[name]} == {"order_status.jsonl"}
    assert isinstance(deployment.tick(), SkipReason)


def test_a_tenant_publishing_to_s3_gets_the_files_and_the_manifest_there(start_standin, tmp_path, monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="shop-files")
        to_s3 = SHOP + "      publish_to: s3://shop-files/sonet/acme\n"
        deployment = Deployment(start_standin(items=100, lag_seconds=0), tmp_path, monkeypatch, shop=to_s3)
        deployment.sync()
        deployment.publish()
        uri = deployment.metadata["catalogue"]["dagster/uri"].value
        listed = {o["Key"] for o in s3.list_objects_v2(Bucket="shop-files")["Contents"]}
        manifest = json.loads(s3.get_object(Bucket="shop-files", Key="sonet/acme/manifest.json")["Body"].read())
        catalogue = s3.get_object(Bucket="shop-files", Key="sonet/acme/catalogue.jsonl")["Body"].read()
    assert listed == {f"sonet/acme/{name}" for name in ("manifest.json", *(f["name"] for f in manifest["files"]))}
    assert len(manifest["files"]) == 6
    assert uri == "s3://shop-files/sonet/acme/catalogue.jsonl"
    assert "BOOT-PRO" in {json.loads(line)["sku"] for line in catalogue.decode().splitlines()}
    assert not deployment.folder.exists()


def test_publishing_before_any_sync_fails_the_run_with_a_clear_reason(deployment):
    """From the UI an operator may materialize the shop before the first sync: the run fails and says why."""
    result = execute_job(deployment.defs.resolve_job_def(SHOP_JOB), deployment.instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "has no synced snapshot yet: run its Sonet sync first" in str(failure.event_specific_data.error.message)
    assert not deployment.folder.exists()
