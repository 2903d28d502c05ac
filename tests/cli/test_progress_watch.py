"""A CLI run's progress, in process against the stand-in: with a terminal to draw on, the run's steps
log a few reports (each task's first and last always) and the line is drawn from them, then cleared;
without one, the run logs no report at all. Sync: each entity's pages and records; send: sent of the
backlog; shop publish: its files. The steps run on the stand-in's manual clock, so no report depends
on how fast this machine is."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime

import pytest
from dagster import DagsterInstance

from sonet_pipeline.cli.runs.progress_line import CLEAR_TO_END
from sonet_pipeline.cli.runs.send import run_send
from sonet_pipeline.cli.runs.shop import run_shop
from sonet_pipeline.cli.runs.sync import run_sync
from sonet_pipeline.cli.shop import destination
from sonet_pipeline.common.progress import Progress, decode
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.contract import read_text
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.cli_runs import prepare_instance
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.shop.stale import find_stale
from sonet_pipeline.sonet.entities import SYNCED
from tests.tenants_file import write_acme_tenant

pytestmark = pytest.mark.slow

EXAMPLE = json.loads(read_text("examples/commerce-order-b2b.json"))


def reports(instance: DagsterInstance, run_id: str) -> list[Progress]:
    """The progress reports in the run's event log, in order."""
    entries = [record.event_log_entry for record in instance.get_records_for_run(run_id).records]
    found = [decode(entry.user_message) for entry in entries if entry.dagster_event is None]
    return [report for report in found if report is not None]


def drawn_and_cleared(terminal: io.StringIO, text: str) -> bool:
    shown = terminal.getvalue()
    return f"\r{text}" in shown and shown.endswith(f"\r{CLEAR_TO_END}")


def test_sync_send_and_publish_draw_their_progress_and_runs_without_a_terminal_log_none(
    sonet, tmp_path, monkeypatch
) -> None:
    write_acme_tenant(sonet, tmp_path, monkeypatch, limits="message_limits: {rate: 50, burst: 50, in_flight: 4}")
    tenants = load_tenants()
    defs, instance = build_definitions(tenants, clock=sonet.clock), prepare_instance()

    terminal = io.StringIO()
    synced = run_sync(defs, instance, tenants, progress=terminal)
    assert synced.success
    told = reports(instance, synced.run_id)
    entities = {name: figures for name, figures in synced.tenants["acme"].items() if "pages" in figures}
    assert entities and set(entities) <= {report.task for report in told} <= set(SYNCED)
    for name, figures in entities.items():
        mine = [report for report in told if report.task == name]
        assert (mine[0].done, mine[0].pages, mine[0].note) == (0, 0, "initial read")
        assert [(r.done, r.pages) for r in mine if r.finished] == [(figures["fetched"], figures["pages"])]
        assert len(mine) <= 2 + figures["pages"]  # a few reports, never more than a page's worth
    assert drawn_and_cleared(terminal, "sync acme ")

    with open_outbox() as outbox:
        orders = [{**copy.deepcopy(EXAMPLE), "orderNumber": f"WEB-PROGRESS-{n}"} for n in range(5)]
        outbox.enqueue_many("acme", orders, actor="test", now=datetime.now(UTC))
    terminal = io.StringIO()
    sent = run_send(defs, instance, tenants, progress=terminal)
    assert sent.success
    told = reports(instance, sent.run_id)
    delivered = sent.tenants["acme"]["messages_delivered"]
    assert (told[0].task, told[0].done, told[0].total) == ("orders", 0, 5)
    assert [(r.done, r.total) for r in told if r.finished] == [(delivered["sent"] + delivered["duplicate"], 5)]
    assert drawn_and_cleared(terminal, "send acme orders: ")

    with open_outbox() as outbox:
        found = find_stale(tenants, outbox, destination, everything=True)
    terminal = io.StringIO()
    published = run_shop(defs, instance, found, progress=terminal)
    assert published.run is not None and published.run.success
    files = published.requested["acme"]
    told = reports(instance, published.run.run_id)
    assert [(r.done, r.total, r.note) for r in told if r.finished] == [(len(files), len(files), "published")]
    assert drawn_and_cleared(terminal, f"shop acme files: {len(files)}/{len(files)} files")

    sonet.advance(120)
    quiet = run_sync(defs, instance, tenants)  # no terminal: as before, no report in the event log
    assert quiet.success and reports(instance, quiet.run_id) == []
