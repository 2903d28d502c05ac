"""`sonet-pipeline retention [--dry-run] [--json]`: exit codes and output as conventions.md says.

The store's `prune_history` is stood in for (its own tests are the store's); the outbox and the
Dagster instance are the real ones under the test's data dir.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sonet_pipeline.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from sonet_pipeline.config import settings
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.sonet.entities import SYNCED
from sonet_pipeline.store import TenantStore
from tests.outbox.helpers import order

TENANTS = """
tenants:
  - name: acme
    sonet: {base_url: "http://127.0.0.1:9", company: "01", token_env: T1}
    retention: {settled_orders_days: 30}
"""


@pytest.fixture(autouse=True)
def tenants(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANTS)
    monkeypatch.setenv("T1", "x")
    monkeypatch.setenv(settings.TENANTS_ENV, str(path))
    return path


@pytest.fixture
def history(monkeypatch) -> None:
    monkeypatch.setattr(TenantStore, "prune_history", lambda store, entity, before, *, dry_run=False: 1, raising=False)


def settled_long_ago() -> str:
    """A message Sonet accepted 100 days ago."""
    when = datetime.now(UTC) - timedelta(days=100)
    with open_outbox(settings.postgres_dsn()) as outbox:
        message_id = outbox.enqueue("acme", order("WEB-1"), actor="intake", now=when).message_id
        outbox.claim("acme", now=when, limit=1, owner="run", claim_seconds=60)
        outbox.mark_sent(message_id, sonet_order_number="SO-1", duplicate=False, actor="run", now=when)
    return message_id


def exists(message_id: str) -> bool:
    with open_outbox(settings.postgres_dsn()) as outbox:
        return outbox.get(message_id) is not None


def test_help():
    with pytest.raises(SystemExit) as info:
        main(["retention", "--help"])
    assert info.value.code == 0


def test_json_is_one_document_and_a_dry_run_deletes_nothing(history, capsys):
    """`--dry-run --json`: exit 0, one JSON document on stdout with the counts per kind and tenant;
    the message is still there. Without `--dry-run`: the same counts, and the message is gone."""
    message_id = settled_long_ago()
    assert main(["retention", "--dry-run", "--json"]) == EXIT_OK
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    dry = json.loads(out)
    assert dry["success"] is True and dry["dry_run"] is True
    assert dry["counts"] == {"runs": 0, "outbox_rows": 1, "history_rows": len(SYNCED), "archive_objects": 0}
    assert dry["tenants"] == {"acme": {"outbox_rows": 1, "history_rows": len(SYNCED), "archive_objects": 0}}
    assert set(dry) == {"run_id", "success", "dry_run", "counts", "runs_by_status", "runs_kept", "tenants", "failures"}
    assert exists(message_id)

    assert main(["retention", "--json"]) == EXIT_OK
    real = json.loads(capsys.readouterr().out)
    assert real["dry_run"] is False and real["counts"] == dry["counts"] and real["tenants"] == dry["tenants"]
    assert not exists(message_id)


def test_the_summary_for_a_person(history, capsys):
    settled_long_ago()
    assert main(["retention", "--dry-run"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("retention run ") and lines[0].endswith("succeeded (dry run: nothing deleted)")
    assert any(line.split()[:2] == ["outbox_rows", "1"] and "(acme 1)" in line for line in lines)


def test_a_kind_that_fails_makes_exit_1(monkeypatch, capsys):
    """A store that cannot be pruned fails the run (exit 1) and is named; the outbox was pruned anyway."""

    def locked(store, entity, before, *, dry_run=False):
        raise RuntimeError("history locked")

    monkeypatch.setattr(TenantStore, "prune_history", locked, raising=False)
    message_id = settled_long_ago()
    assert main(["retention", "--json"]) == EXIT_FAILED
    report = json.loads(capsys.readouterr().out)
    assert report["success"] is False and "history locked" in report["failures"][0]
    assert report["counts"]["outbox_rows"] == 1 and not exists(message_id)


def test_a_wrong_setting_is_a_configuration_error(monkeypatch, capsys):
    """A wrong deployment setting: exit 2, the variable named on stderr, nothing on stdout, nothing deleted."""
    message_id = settled_long_ago()
    monkeypatch.setenv("SONET_PIPELINE_RETENTION_SETTLED_ORDERS_DAYS", "ninety")
    assert main(["retention", "--json"]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and "SONET_PIPELINE_RETENTION_SETTLED_ORDERS_DAYS" in captured.err
    assert exists(message_id)


def test_a_wrong_tenant_setting_names_file_tenant_and_field(tenants, capsys):
    tenants.write_text(TENANTS.replace("settled_orders_days: 30", "settled_orders_days: -1"))
    assert main(["retention", "--dry-run"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(tenants) in err and "'acme'" in err and "field retention.settled_orders_days" in err
