"""The `sonet-pipeline standin` flags: defaults, settings they make, and errors that name the flag."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from sonet_pipeline.common.clock import ManualClock, SystemClock
from sonet_pipeline.standin import cli_args, server
from sonet_pipeline.standin.runtime import DEFAULT_MESSAGE_LIMITS, DEFAULT_QUERY_LIMITS


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sonet-pipeline standin")
    cli_args.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_two_demo_companies_with_the_contract_limits():
    """Without flags: 127.0.0.1:8765, companies 01 and 02 with demo tokens and their own seeds, the
    contract's default throttles, no faults, admin on, the system clock."""
    args = _parse()
    config = cli_args.config_from_args(args)
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    assert [(c.code, c.token) for c in config.companies] == [("01", "demo-token-acme"), ("02", "demo-token-nordic")]
    assert config.companies[0].seed != config.companies[1].seed
    assert (config.query_limits, config.message_limits) == (DEFAULT_QUERY_LIMITS, DEFAULT_MESSAGE_LIMITS)
    assert config.admin and not config.mixed_offsets and config.faults.unavailable_share == 0
    assert isinstance(cli_args.clock_from_args(args), SystemClock)


def test_flags_make_the_settings():
    """Every flag lands in the stand-in's settings."""
    args = _parse(
        "--company", "A1=secret-a", "--company", "B2=secret-b", "--seed", "5", "--items", "50", "--customers", "9",
        "--query-rate", "2.5", "--query-burst", "4", "--query-in-flight", "1", "--message-rate", "3",
        "--lag-seconds", "30", "--late-share", "0.5", "--changes-per-minute", "12", "--unavailable-share", "0.1",
        "--lost-answer-share", "0.2", "--slow-share", "0.3", "--slow-seconds", "2",
        "--maintenance-at", "2026-11-28T05:00:00Z", "--maintenance-seconds", "120",
        "--state-file", "/tmp/j.jsonl", "--manual-clock", "2026-11-28T04:00:00+00:00", "--mixed-offsets", "--no-admin",
    )  # fmt: skip
    config = cli_args.config_from_args(args)
    assert [(c.code, c.token, c.seed, c.items, c.customers) for c in config.companies] == [
        ("A1", "secret-a", 5, 50, 9),
        ("B2", "secret-b", 6, 50, 9),
    ]
    assert (config.query_limits.rate, config.query_limits.burst, config.query_limits.in_flight) == (2.5, 4, 1)
    assert config.message_limits.rate == 3
    assert (config.lag_seconds, config.late_share, config.changes_per_minute) == (30, 0.5, 12)
    faults = config.faults
    assert (faults.unavailable_share, faults.lost_answer_share, faults.slow_share, faults.slow_seconds) == (
        0.1, 0.2, 0.3, 2
    )  # fmt: skip
    start = datetime(2026, 11, 28, 5, tzinfo=UTC)
    assert [(s, (e - s).total_seconds()) for s, e in faults.maintenance] == [(start, 120)]
    assert (config.state_file, config.mixed_offsets, config.admin) == ("/tmp/j.jsonl", True, False)
    clock = cli_args.clock_from_args(args)
    assert isinstance(clock, ManualClock) and clock.now() == datetime(2026, 11, 28, 4, tzinfo=UTC)
    assert cli_args.config_from_args(_parse("--unthrottled")).query_limits is None
    assert isinstance(cli_args.clock_from_args(_parse("--manual-clock")), ManualClock)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--port", "0"], "--port"),
        (["--port", "http"], "--port"),
        (["--company", "01"], "--company"),
        (["--company", "01=a", "--company", "01=b"], "--company"),
        (["--late-share", "1.5"], "--late-share"),
        (["--unavailable-share", "nan"], "--unavailable-share"),
        (["--items", "-3"], "--items"),
        (["--query-burst", "0"], "--query-burst"),
        (["--maintenance-at", "2026-11-28T05:00:00"], "--maintenance-at"),
        (["--manual-clock", "tomorrow"], "--manual-clock"),
        (["--slow-seconds", "-1"], "--slow-seconds"),
    ],
)
def test_an_invalid_flag_is_an_argparse_error_naming_it(argv, flag, capsys):
    """A bad value ends with argparse's usage error (exit code 2) that names the flag."""
    with pytest.raises(SystemExit) as exit_info:
        _parse(*argv)
    assert exit_info.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err


def test_run_prints_the_address_and_serves(monkeypatch, capsys):
    """`run` builds the stand-in from the flags, prints where it serves (never a token) and serves there."""
    served = []
    monkeypatch.setattr(server, "serve", lambda standin, host, port: served.append((standin, host, port)))
    assert cli_args.run(_parse("--items", "10", "--port", "9911", "--company", "07=very-secret")) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:9911" in out and "very-secret" not in out
    standin, host, port = served[0]
    assert (host, port, list(standin.companies)) == ("127.0.0.1", 9911, ["07"])
    assert standin.companies["07"].state.count("items") >= 10
