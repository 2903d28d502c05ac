"""Hostile Sonet answers end to end through Dagster, against the stand-in's hostile faults.

Sync: a page that breaks the schema fails the sync with an error naming the list, the field and the
record; nothing of that page reaches the store or the snapshot, the high-water mark stays; the next sync
without the fault brings it all. Send: a 2xx answer with an external entity or a 50 MB body leaves the
message `sending` (outcome unknown) with the reason, reads no entity, and the next run's resend (same
bytes) is settled by Sonet's DUPLICATE: the order exists once in Sonet, the outbox says `sent`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from sonet_pipeline.cli.runs.send import run_send
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.outbox import SENDING, SENT, open_outbox
from sonet_pipeline.store import open_snapshot, open_store
from tests.assets.test_orders import accepted_once, order
from tests.local_http import recording_listener
from tests.standin.standin_http import SonetClient
from tests.tenants_file import write_acme_tenant

pytestmark = pytest.mark.slow
SECRET = "SECRET-MARKER-e2e-41c9"


def write_tenants(sonet: SonetClient, folder: Path, monkeypatch) -> None:
    limits = (
        "query_limits: {rate: 100, burst: 100, in_flight: 4},\n"
        "            message_limits: {rate: 50, burst: 50, in_flight: 4}"
    )
    write_acme_tenant(sonet, folder, monkeypatch, limits=limits)


class Deployment:
    def __init__(self, sonet: SonetClient) -> None:
        self.sonet = sonet
        self.tenants = load_tenants()
        self.defs = build_definitions(self.tenants, clock=sonet.clock)
        self.instance = prepare_instance()

    def sync(self):
        return run_sync(self.defs, self.instance, self.tenants, now=self.sonet.clock.now())

    def send(self):
        summary = run_send(self.defs, self.instance, self.tenants)
        assert summary.success, summary.failures
        return summary.tenants["acme"]["messages_delivered"]


def stored_items() -> tuple[list[dict], datetime | None, list[dict]]:
    """The store's items, its high-water mark for them, and the published snapshot's items."""
    with open_store("acme") as store:
        frame = store.frame("items").sort_values("itemCode")
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        mark = store.high_water_mark("items")
    snapshot = sorted(open_snapshot("acme").records("items"), key=lambda r: r["itemCode"])
    return records, mark, snapshot


def test_a_page_breaking_the_schema_fails_the_sync_and_stores_nothing_of_it(sonet, tmp_path, monkeypatch):
    write_tenants(sonet, tmp_path, monkeypatch)
    deployment = Deployment(sonet)
    assert deployment.sync().success
    before = stored_items()
    changed = ["BOOT-00051-37", "BOOT-00051-38", "GLOVE-WORK"]
    assert {r["itemCode"] for r in before[0]} >= set(changed)
    sonet.change("items", [{"itemCode": code, "stockBalance": "777"} for code in changed], delay_seconds=0)
    sonet.advance(30)

    sonet.admin_json("POST", "/faults", json={"hostile_query": "null", "hostile_field": "vatRate"})
    failed = deployment.sync()
    assert not failed.success
    failure = " ".join(failed.failures)
    assert "Sonet's items answer breaks the contract's schema" in failure
    assert "record itemCode='GLOVE-WORK'" in failure  # the page's last record: the spoiled one
    assert "vatRate is null, but the schema says Decimal!" in failure
    assert stored_items() == before  # the valid records of that page are not stored either; the mark stays

    sonet.admin_json("POST", "/faults", json={"hostile_query": ""})
    assert deployment.sync().success
    records, mark, snapshot = stored_items()
    assert {r["itemCode"]: r["stockBalance"] for r in records if r["itemCode"] in changed} == dict.fromkeys(
        changed, "777"
    )
    assert before[1] is not None and mark is not None and mark > before[1]
    assert [r["stockBalance"] for r in snapshot if r["itemCode"] in changed] == ["777"] * 3


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    with recording_listener(SECRET.encode()) as found:
        yield found


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ({"hostile_message": "entity", "hostile_entity_url": "FILE"}, "a DOCTYPE or ENTITY declaration is not allowed"),
        ({"hostile_message": "parameter_entity", "hostile_entity_url": "HTTP"}, "a DOCTYPE or ENTITY declaration"),
        ({"hostile_message": "huge_body"}, "the answer is over 1048576 bytes (1 MiB); reading stopped there"),
    ],
    ids=["file-entity", "http-parameter-entity", "50-mb-body"],
)
def test_a_hostile_message_answer_leaves_it_unknown_until_the_resend_settles_it(
    sonet, tmp_path, monkeypatch, listener, faults, reason
):
    write_tenants(sonet, tmp_path, monkeypatch)
    marker = tmp_path / "secret-marker"
    marker.write_text(SECRET)
    base, seen = listener
    urls = {"FILE": marker.as_uri(), "HTTP": f"{base}/entity.dtd"}
    faults = {k: urls.get(v, v) if isinstance(v, str) else v for k, v in faults.items()}
    deployment = Deployment(sonet)
    assert deployment.sync().success
    outbox = open_outbox()
    [mid] = [r.message_id for r in outbox.enqueue_many("acme", [order("WEB-H1")], actor="test", now=sonet.clock.now())]

    sonet.admin_json("POST", "/faults", json=faults)
    figures = deployment.send()
    assert figures["without_answer"] >= 1 and figures["sent"] == 0 and figures["failed"] == 0
    message = outbox.get(mid)
    assert message.state == SENDING and message.error is not None
    # 201 to the first send, 200 (a DUPLICATE underneath) to the run's resends: garbled alike
    assert re.match(r"HTTP 20[01] with an answer that is not a MessageReceipt", message.error.message)
    assert reason in message.error.message
    sent_bytes = message.xml
    assert seen == []
    archive = _isolated_archive_text(tmp_path)
    assert SECRET not in json.dumps(outbox.get(mid).__dict__, default=str) and SECRET not in archive
    assert '"BAD_ANSWER"' in archive  # every garbled answer is kept in the audit archive, with its outcome

    sonet.admin_json("POST", "/faults", json={"hostile_message": ""})
    sonet.advance(120)
    figures = deployment.send()
    assert figures["duplicate"] == 1
    message = outbox.get(mid)
    assert (message.state, message.sonet_order_number, message.xml) == (SENT, "SO-01-0000001", sent_bytes)
    accepted_once(sonet, [mid])
    assert seen == []


def _isolated_archive_text(tmp_path: Path) -> str:
    """Everything under the test's data dir (archive included) that is text, joined."""
    import os

    data = Path(os.environ["SONET_PIPELINE_DATA_DIR"])
    texts = []
    for path in data.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)
