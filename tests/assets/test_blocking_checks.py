"""Blocking checks block: a sync that brings a key listed twice and a price that is no number keeps
them in the store, fails its blocking checks naming the records, and holds the snapshot back, so the
shop's files stay byte for byte as they were, even when every file is republished; once Sonet corrects
the records, the next sync publishes and the shop's files follow.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetCheckSeverity, DagsterEventType, SkipReason

from sonet_pipeline.cli.runs.shop import run_shop
from sonet_pipeline.cli.runs.summary import RunSummary
from sonet_pipeline.cli.runs.sync import format_summary, run_sync
from sonet_pipeline.cli.shop import destination
from sonet_pipeline.outbound.variant_attributes import variant_attributes
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.resources.store import StoreResource
from sonet_pipeline.shop.stale import find_stale
from tests.assets.test_shop import Deployment, files_of

pytestmark = pytest.mark.slow
SIZE_44 = {"name": "Size", "value": "44"}


@pytest.fixture
def deployment(start_standin, tmp_path, monkeypatch) -> Deployment:
    sonet = start_standin(items=400, lag_seconds=0, late_share=0.0)
    return Deployment(sonet, tmp_path, monkeypatch)


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.jsonl"))}


def publish_everything(deployment: Deployment) -> None:
    """`shop publish --all`: every file built again from the snapshot, whatever is stale."""
    with open_outbox() as outbox:
        found = find_stale(deployment.tenants, outbox, destination, everything=True)
    assert run_shop(deployment.defs, deployment.instance, found).success


def variant(deployment: Deployment, model: str, item: str) -> dict[str, Any]:
    product = deployment.records("catalogue")[model]
    return next(v for v in product["variants"] if v["itemCode"] == item)


def sync_checks(deployment: Deployment) -> tuple[RunSummary, dict[str, Any]]:
    """A sync run now (it may fail); its check evaluations by `entity/check`."""
    summary = run_sync(deployment.defs, deployment.instance, deployment.tenants, now=datetime.now(UTC))
    records = deployment.instance.get_records_for_run(summary.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records.records]
    return summary, {f"{e.asset_key.path[-1]}/{e.check_name}": e for e in evaluations}


def test_a_failing_blocking_check_holds_the_snapshot_and_the_shop_files_until_sonet_is_corrected(deployment):
    sonet = deployment.sonet
    deployment.sync()
    deployment.publish()
    before, snapshot = files(deployment.folder), StoreResource().snapshot("acme")
    published = snapshot.manifest()["entities"]["items"]
    sender_view = variant_attributes(snapshot)  # what the sender reads of the catalogue
    assert sender_view("BOOT-PRO-45") == [("Size", "45")]

    # Padded as a CHAR column pads: Python's Decimal reads it (the Query client's shape check lets it by),
    # yet it is not the contract's decimal text, and the shop would offer "61.90 ".
    sonet.change("items", [{"itemCode": "BOOT-PRO-43", "listPrice": "61.90 "}])
    sonet.change("items", [{"itemCode": "BOOT-PRO-45", "stockBalance": "5"}])
    listed = sonet.admin_json(  # a faulty Sonet lists the changed boot twice, with two sizes
        "POST",
        "/companies/01/duplicates",
        json={"entity": "items", "records": [{"itemCode": "BOOT-PRO-45", "variantAttributes": [SIZE_44]}]},
    )
    assert listed["duplicated"] == 1
    sonet.advance(1)
    summary, checks = sync_checks(deployment)

    assert not summary.success and "blocking asset checks failed" in " ".join(summary.failures)
    duplicates, decimals = checks["items/unique_keys"], checks["items/decimals_parse"]
    for check in (duplicates, decimals):
        assert not check.passed and check.severity == AssetCheckSeverity.ERROR
        assert check.metadata["snapshot_held"].value is True
        assert check.metadata["held_by"].value == "items/unique_keys, items/decimals_parse"
    assert "| items | BOOT-PRO-45 | 2 |" in duplicates.metadata["sample"].value
    assert "| items | BOOT-PRO-43 | listPrice | 61.90  |" in decimals.metadata["sample"].value
    assert "customers/decimals_parse" not in checks  # unchanged entities are not judged again
    items = summary.tenants["acme"]["items"]
    assert items["snapshot_held"] is True and "items/decimals_parse: 1 record(s)" in items["held_by"]
    assert any(
        line.startswith("  acme: snapshot of items held back") for line in format_summary(summary)
    )  # the CLI's word
    with StoreResource().writer("acme") as store:  # the store keeps what Sonet sent
        rows = dict(store.query('SELECT "itemCode", "listPrice" FROM items WHERE "itemCode" LIKE \'BOOT-PRO-4_\''))
        assert rows["BOOT-PRO-43"] == "61.90 "

    assert snapshot.manifest()["entities"]["items"] == published  # readers still see the last state that passed
    assert variant_attributes(snapshot)("BOOT-PRO-45") == [("Size", "45")]
    assert isinstance(deployment.tick(), SkipReason)  # the shop sensor sees nothing to publish
    publish_everything(deployment)  # even asked to publish every file, the shop builds what it had
    assert files(deployment.folder) == before

    sonet.advance(600)  # past the lookback: the next delta reads neither record again
    sonet.change("customers", [{"customerNumber": "C10042", "segmentCodes": ["B2B-SAHKO"]}])
    sonet.advance(1)
    summary, checks = sync_checks(deployment)
    assert not summary.success and not checks["items/unique_keys"].passed and not checks["items/decimals_parse"].passed
    assert snapshot.manifest()["entities"]["items"] == published  # the store still holds it, until Sonet corrects it
    assert summary.tenants["acme"]["customers"]["snapshot_held"] is False  # the customers pass: they publish
    assert files_of(deployment.publish()) == {"accounts", "logins", "rights"}  # never the catalogue
    assert json.loads(deployment.lines("accounts")["C10042"])["segmentCodes"] == ["B2B-SAHKO"]
    assert files(deployment.folder)["catalogue.jsonl"] == before["catalogue.jsonl"]

    sonet.change(
        "items", [{"itemCode": "BOOT-PRO-43", "listPrice": "61.90"}, {"itemCode": "BOOT-PRO-45", "stockBalance": "6"}]
    )
    sonet.advance(1)
    deployment.sync()  # passes: publishes
    assert snapshot.manifest()["entities"]["items"] != published
    assert variant_attributes(snapshot)("BOOT-PRO-45") == [("Size", "45")]
    deployment.publish()
    assert files(deployment.folder)["catalogue.jsonl"] != before["catalogue.jsonl"]
    assert variant(deployment, "BOOT-PRO", "BOOT-PRO-43")["price"] == "61.90"
    assert variant(deployment, "BOOT-PRO", "BOOT-PRO-45")["attributes"] == [{"name": "Size", "value": "45"}]
    assert json.loads((deployment.folder / "manifest.json").read_text())["source"]
