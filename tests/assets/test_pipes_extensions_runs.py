"""Partner extensions of kind `pipes` in real send and shop runs against the stand-in: the sample
functions run as subprocesses through Dagster Pipes, one call per run and point with every record,
their effect reaches the SalesOrders sent and the files published, and their log lines are the run's
Dagster events."""

from __future__ import annotations

import sys

import pytest
from dagster import DagsterEventType

from tests.assets.test_orders import Procession, order
from tests.assets.test_shop import SHOP, Deployment
from tests.partner_package import PACKAGE
from tests.tenants_file import write_acme_tenant

pytestmark = pytest.mark.slow

SCRIPTS = PACKAGE / "pipes"


def pipes(name: str, script: str) -> str:
    """A tenant-file entry of kind pipes running `pipes/<script>.py` with this Python."""
    return f"{{name: {name}, kind: pipes, timeout_seconds: 60, command: [{sys.executable}, {SCRIPTS / script}.py]}}"


def run_logs(instance) -> list[str]:
    """The newest run's event log, as lines."""
    (run,) = instance.get_runs(limit=1)
    return [entry.user_message for entry in instance.all_logs(run.run_id)]


def observations(instance) -> list:
    """The newest run's asset observations (a Pipes call each)."""
    (run,) = instance.get_runs(limit=1)
    entries = instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_OBSERVATION)
    return [entry.dagster_event.event_specific_data.asset_observation for entry in entries]


def test_a_send_run_calls_each_pipes_extension_once_with_every_order(sonet, tmp_path, monkeypatch, partner_extensions):
    """Two orders, two points: two Pipes calls; the order without a reference is sent with the partner's."""
    extensions = (
        "    extensions:\n"
        f"      web_order: [{pipes('acme_reference_pipes', 'web_order')}]\n"
        f"      sales_order: [{pipes('acme_noop_pipes', 'noop')}]\n"
    )
    limits = "message_limits: {rate: 50, burst: 50, in_flight: 4}"
    write_acme_tenant(sonet, tmp_path, monkeypatch, limits=limits, extra="    send_every_seconds: 10\n" + extensions)
    procession = Procession(sonet)
    procession.sync()
    unreferenced = order("WEB-1")
    del unreferenced["customerReference"]
    first, second = procession.enqueue(unreferenced, order("WEB-2"))
    figures = procession.send()
    assert figures["sent"] == 2, figures
    assert b"<CustomerReference>ACME-WEB-1</CustomerReference>" in (procession.outbox.get(first).xml or b"")
    assert "ACME-WEB-2" not in (procession.outbox.get(second).xml or b"").decode()
    logs = run_logs(procession.instance)
    assert sum("customer_reference at web_order: 2 record(s)" in m for m in logs) == 1
    assert sum("noop at sales_order: 2 record(s)" in m for m in logs) == 1
    assert any("[pipes] external process successfully opened dagster pipes" in m for m in logs)
    observed = observations(procession.instance)
    assert sorted((o.asset_key.to_user_string(), o.metadata["point"].value) for o in observed) == [
        ("acme/orders/messages_built", "sales_order"),
        ("acme/orders/messages_built", "web_order"),
    ]


def test_a_shop_run_publishes_what_the_pipes_extensions_made(start_standin, tmp_path, monkeypatch, partner_extensions):
    """The catalogue's lines carry the partner's keywords; its logs are the shop run's events."""
    sonet = start_standin(items=60, lag_seconds=0, late_share=0.0)
    extensions = f"\n    extensions:\n      catalogue_line: [{pipes('acme_keywords_pipes', 'catalogue_line')}]\n"
    deployment = Deployment(sonet, tmp_path, monkeypatch, shop=SHOP + extensions)
    deployment.sync()
    deployment.publish()
    lines = deployment.records("catalogue")
    assert lines and all(isinstance(line.get("acmeKeywords"), list) for line in lines.values())
    some = next(iter(lines.values()))
    assert some["acmeKeywords"] == sorted(set(str(some.get("name") or "").lower().split()))
    logs = run_logs(deployment.instance)
    calls = [m for m in logs if "search_keywords at catalogue_line:" in m]
    assert len(calls) == 1 and f"{len(lines)} record(s)" in calls[0], calls
    assert any(entry["name"] == "catalogue.jsonl" for entry in deployment.manifest()["files"])
    (observed,) = observations(deployment.instance)
    assert observed.asset_key.to_user_string() == "acme/shop/catalogue"
    assert observed.metadata["records_given"].value == len(lines)
