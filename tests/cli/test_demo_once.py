"""`sonet-pipeline demo --once`: one headless cycle of the demo, checked, with a summary and its exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sonet_pipeline.cli import demo_once
from sonet_pipeline.cli.main import main
from sonet_pipeline.config import settings

STAGES = ["stand-in", "sync", "shop publish", "orders in", "send", "order status", "sonet"]


@pytest.mark.slow
def test_once_runs_the_whole_cycle_on_a_fresh_data_dir_and_exits_0(tmp_path: Path):
    """Embedded defaults only (no PostgreSQL): every stage passes, each valid order reached Sonet once,
    the refused ones ended as meant, and the order status file was published."""
    env = {**os.environ, settings.DATA_DIR_ENV: str(tmp_path), settings.POSTGRES_DSN_ENV: ""}
    env.pop("DAGSTER_HOME", None)
    env.pop(settings.TENANTS_ENV, None)
    done = subprocess.run(
        [sys.executable, "-m", "sonet_pipeline.cli", "demo", "--once", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)  # one JSON document, nothing else on stdout
    assert summary["success"] is True and summary["failed_stage"] is None
    assert [stage["name"] for stage in summary["stages"]] == STAGES
    assert all(stage["ok"] for stage in summary["stages"])
    assert set(summary["orders"]) == {"acme", "nordic"}
    for orders in summary["orders"].values():
        assert len(orders["valid"]) == demo_once.VALID_ORDERS
        assert len(orders["refused_by_sonet"]) == 1 and len(orders["refused_at_door"]) == 1
    world = tmp_path / demo_once.WORLD
    assert summary["data_dir"] == str(world)
    for tenant, orders in summary["orders"].items():
        lines = (world / "published" / tenant / "order_status.jsonl").read_text().splitlines()
        statuses = {row["orderNumber"]: row["status"] for row in map(json.loads, lines)}
        assert {statuses[number] for number in orders["valid"]} == {"sent"}
        assert [statuses[number] for number in orders["refused_by_sonet"]] == ["failed"]
        assert not set(orders["refused_at_door"]) & set(statuses)
    assert "every stage passed" in done.stderr


def test_a_failing_stage_is_named_and_ends_the_cycle_with_exit_1(tmp_path, monkeypatch, capsys):
    """The first stage that fails names itself (text and JSON); the later ones do not run."""
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path))
    ran: list[str] = []

    def passes(self):
        ran.append("stand-in")
        return "up"

    def fails(self):
        ran.append("sync")
        raise demo_once.StageFailed("`sonet-pipeline sync` exited 1: the stand-in refused the token")

    def never(self):
        ran.append("later")
        return ""

    monkeypatch.setattr(demo_once._Cycle, "start_standin", passes)
    monkeypatch.setattr(demo_once._Cycle, "sync", fails)
    for later in ("publish_shop", "orders_in", "send", "order_status", "sonet_holds_orders"):
        monkeypatch.setattr(demo_once._Cycle, later, never)

    assert main(["demo", "--once", "--json"]) == 1
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["success"] is False and summary["failed_stage"] == "sync"
    assert [(s["name"], s["ok"]) for s in summary["stages"]] == [("stand-in", True), ("sync", False)]
    assert "refused the token" in summary["stages"][1]["detail"]
    assert ran == ["stand-in", "sync"]
    assert "FAILED at stage 'sync'" in err

    assert main(["demo", "--once"]) == 1
    out, _ = capsys.readouterr()
    assert "FAILED at stage 'sync'" in out and "  FAILED sync" in out


def test_json_without_once_and_bad_shop_flags_are_usage_errors(capsys):
    assert main(["demo", "--json"]) == 2
    assert "--json goes with --once" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--shop-orders-per-minute", "-3"])
    assert exit_.value.code == 2
    assert main(["demo", "--shop-burst", "5", "--shop-burst-every", "0"]) == 2
