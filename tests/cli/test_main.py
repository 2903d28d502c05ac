"""The `sonet-pipeline` command: help everywhere, exit codes as conventions.md says."""

from __future__ import annotations

import json

import pytest

from sonet_pipeline.cli.main import EXIT_OK, EXIT_USAGE, main
from sonet_pipeline.config import settings


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["standin"],
        ["tenants"],
        ["tenants", "check"],
        ["sync"],
        ["send"],
        ["store", "dump"],
        ["intake"],
        ["orders", "enqueue"],
        ["outbox"],
        ["outbox", "status"],
        ["outbox", "reconcile"],
        ["shop"],
        ["shop", "publish"],
        ["shop", "why"],
        ["shop", "price"],
    ],
)
def test_every_command_has_help(command, capsys):
    """`--help` works on every command and exits 0."""
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: sonet-pipeline" in capsys.readouterr().out


def test_bad_arguments_exit_2(capsys):
    """An unknown command or flag is a usage error: exit 2, the problem on stderr."""
    with pytest.raises(SystemExit) as info:
        main(["standin", "--port", "not-a-port"])
    assert info.value.code == EXIT_USAGE
    assert "--port" in capsys.readouterr().err


def test_tenants_check_json_lists_missing_secrets_and_exits_2(monkeypatch, capsys):
    """Unset token variables are named (never a value) and make the check exit 2."""
    monkeypatch.delenv(settings.TENANTS_ENV, raising=False)
    monkeypatch.delenv("ACME_SONET_TOKEN", raising=False)
    for variable in ("NORDIC_SONET_TOKEN", "ACME_INTAKE_TOKEN", "NORDIC_INTAKE_TOKEN"):
        monkeypatch.setenv(variable, "secret-nordic")
    assert main(["tenants", "check", "--json"]) == EXIT_USAGE
    out = capsys.readouterr().out
    report = json.loads(out)
    assert [t["missing_secrets"] for t in report["tenants"]] == [["ACME_SONET_TOKEN"], []]
    assert "secret-nordic" not in out


def test_tenants_check_passes_with_secrets(monkeypatch, capsys):
    monkeypatch.delenv(settings.TENANTS_ENV, raising=False)
    for variable in ("ACME_SONET_TOKEN", "NORDIC_SONET_TOKEN", "ACME_INTAKE_TOKEN", "NORDIC_INTAKE_TOKEN"):
        monkeypatch.setenv(variable, "x")
    assert main(["tenants", "check"]) == EXIT_OK
    assert "2 tenant(s)" in capsys.readouterr().out


def test_a_broken_tenants_file_is_a_configuration_error(tmp_path, monkeypatch, capsys):
    """A bad tenants file: exit 2 with the file and field named on stderr, nothing on stdout."""
    bad = tmp_path / "tenants.yaml"
    bad.write_text("tenants:\n  - name: acme\n    sonet: {base_url: 'http://x.example', company: 1, token_env: T}\n")
    monkeypatch.setenv(settings.TENANTS_ENV, str(bad))
    assert main(["tenants", "check", "--json"]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(bad) in captured.err and "field sonet.company" in captured.err


@pytest.mark.parametrize("command", ["sync", "send"])
def test_a_run_for_a_tenant_whose_token_variable_is_unset_is_a_configuration_error(command, monkeypatch, capsys):
    """Named before any run starts (exit 2, the variable named, no traceback), as the other commands do."""
    monkeypatch.delenv(settings.TENANTS_ENV, raising=False)
    monkeypatch.delenv("ACME_SONET_TOKEN", raising=False)
    assert main([command, "--tenant", "acme"]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert "configuration error: tenant 'acme': sonet token: environment variable ACME_SONET_TOKEN is not set" in (
        captured.err
    )


def test_orders_enqueue_reports_refused_orders_by_line_and_stores_the_rest(tmp_path, monkeypatch, capsys):
    """JSON Lines with one invalid order: the valid ones are stored, the invalid one is named by its line on
    stderr and not stored, and the exit code is 1."""
    import copy

    from sonet_pipeline.contract import read_text
    from sonet_pipeline.outbox import open_outbox
    from sonet_pipeline.store import snapshot_dir
    from tests.intake.rights_snapshot import publish, seed_records

    monkeypatch.delenv(settings.TENANTS_ENV, raising=False)
    publish(snapshot_dir("acme"), *seed_records())  # acme's rights: C10042-2 (a BUYER of B2B-RAKENNUS) may order
    example = json.loads(read_text("examples/commerce-order-b2b.json"))
    good = copy.deepcopy(example)
    bad = copy.deepcopy(example) | {"orderNumber": "WEB-2"}
    bad["lines"][0]["quantity"] = "two"
    path = tmp_path / "orders.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    assert main(["orders", "enqueue", str(path), "--tenant", "acme", "--json"]) == 1
    captured = capsys.readouterr()
    outcomes = [json.loads(line)["outcome"] for line in captured.out.splitlines()]
    assert outcomes == ["accepted", "refused"]
    assert "line 2" in captured.err and "lines[0].quantity" in captured.err
    with open_outbox() as outbox:
        assert [m.order_number for m in outbox.list(tenant="acme")] == ["WEB-100234"]
