"""The `sonet-pipeline` command: help everywhere, exit codes as conventions.md says."""

from __future__ import annotations

import json

import pytest

from sonet_pipeline import settings
from sonet_pipeline.cli import EXIT_OK, EXIT_USAGE, main


@pytest.mark.parametrize("command", [[], ["demo"], ["standin"], ["tenants"], ["tenants", "check"]])
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
    monkeypatch.setenv("NORDIC_SONET_TOKEN", "secret-nordic")
    assert main(["tenants", "check", "--json"]) == EXIT_USAGE
    out = capsys.readouterr().out
    report = json.loads(out)
    assert [t["missing_secrets"] for t in report["tenants"]] == [["ACME_SONET_TOKEN"], []]
    assert "secret-nordic" not in out


def test_tenants_check_passes_with_secrets(monkeypatch, capsys):
    monkeypatch.delenv(settings.TENANTS_ENV, raising=False)
    monkeypatch.setenv("ACME_SONET_TOKEN", "a")
    monkeypatch.setenv("NORDIC_SONET_TOKEN", "b")
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
