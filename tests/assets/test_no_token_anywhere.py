"""No token anywhere: a full cycle with distinctive tokens (two tenants' Sonet and intake tokens, and
wrong ones presented on purpose), then every place something is kept or shown is searched for each
token, raw and in the forms it could be written in (URL-encoded, base64, JSON-escaped).

The cycle: `tenants check`, `sync`, `shop publish`, orders over HTTP to the real `sonet-pipeline
intake` (single, batch, a wrong token, another tenant's token), `orders enqueue`, `send`, the outbox
commands, `store dump`, `shop publish` again; then Sonet refusing a tenant's token (401) so that a sync
and a send fail with exception text. Searched: every file under the data dir and DAGSTER_HOME (SQLite
event logs read as bytes; DuckDB stores and Parquet snapshots also read as tables), every command's
stdout and stderr, every log record (DEBUG included), the outbox rows with their versions and
events, and every run's config, tags and event log entries through the instance API.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from dagster import DagsterInstance

from sonet_pipeline.cli.main import main
from sonet_pipeline.config import settings
from sonet_pipeline.contract import read_text
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.standin.runtime import CompanyConfig, Faults, StandinConfig
from tests.standin.standin_http import wait_until

pytestmark = pytest.mark.slow

#: Distinctive tokens, with characters that URL-encoding and JSON escaping change.
SONET = {"acme": "tok-QUERY-7f3a91c2-acme+Sonet/9e", "nordic": "tok-QUERY-b41d07e5-nordic+Sonet/3c"}
INTAKE = {"acme": "tok-INTAKE-5d2e8b04-acme+shop/77", "nordic": "tok-INTAKE-c93f1a6d-nordic+shop/18"}
WRONG_SONET = "tok-WRONG-0c4f77a1-sonet+refused/5b"
WRONG_INTAKE = "tok-WRONG-e8a2d913-intake+refused/6f"
ALL_TOKENS = [*SONET.values(), *INTAKE.values(), WRONG_SONET, WRONG_INTAKE]
EXAMPLE = json.loads(read_text("examples/commerce-order-b2b.json"))


def forms(token: str) -> set[bytes]:
    """The byte strings that would show `token`: raw, URL-encoded, JSON-escaped, and base64 at each of
    the three alignments it could start at inside a longer encoded text (`Bearer <token>`, Basic auth)."""
    raw = token.encode()
    found = {raw, urllib.parse.quote(token, safe="").encode(), urllib.parse.quote_plus(token).encode()}
    found.add(json.dumps(token)[1:-1].replace("/", "\\/").encode())
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        # drop the characters that also encode the padding, and the last partial group
        start = {0: 0, 1: 2, 2: 3}[pad]
        found.add(encoded[start : start + (len(raw) * 4 // 3) - 4])
    return found


FORMS = {token: forms(token) for token in ALL_TOKENS}


class Shown:
    """Everything the test collects: (where, bytes)."""

    def __init__(self) -> None:
        self.places: list[tuple[str, bytes]] = []

    def add(self, where: str, data: str | bytes) -> None:
        self.places.append((where, data.encode() if isinstance(data, str) else data))

    def leaks(self) -> list[str]:
        return [
            f"{where}: {token!r} as {form!r}"
            for where, data in self.places
            for token, encoded in FORMS.items()
            for form in encoded
            if form in data
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cycle_env(start_standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The stand-in with two companies whose tokens are the distinctive ones; two tenants on it."""
    standin = start_standin(
        StandinConfig(
            companies=[
                CompanyConfig("01", SONET["acme"], seed=7, items=300),
                CompanyConfig("02", SONET["nordic"], seed=8, items=300),
            ],
            faults=Faults(),
        )
    )
    tenants = tmp_path / "tenants.yaml"
    lines = ["tenants:"]
    for name, company in (("acme", "01"), ("nordic", "02")):
        upper = name.upper()
        lines += [
            f"  - name: {name}",
            f"    sonet: {{base_url: '{standin.base_url}', company: '{company}', token_env: {upper}_SONET_TOKEN}}",
            f"    intake_token_env: {upper}_INTAKE_TOKEN",
        ]
        monkeypatch.setenv(f"{upper}_SONET_TOKEN", SONET[name])
        monkeypatch.setenv(f"{upper}_INTAKE_TOKEN", INTAKE[name])
    tenants.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv(settings.TENANTS_ENV, str(tenants))
    yield standin


def order(number: str) -> dict[str, Any]:
    made = copy.deepcopy(EXAMPLE)
    made["orderNumber"] = number
    return made


def run_cli(shown: Shown, capfd: pytest.CaptureFixture[str], *argv: str) -> int:
    """`sonet-pipeline ARGV` in this process (so its log records reach caplog); its output is kept."""
    code = main(list(argv))
    out, err = capfd.readouterr()
    shown.add(f"stdout of {' '.join(argv)}", out)
    shown.add(f"stderr of {' '.join(argv)}", err)
    return code


def take_orders_over_http(shown: Shown, tmp_path: Path) -> list[str]:
    """The real `sonet-pipeline intake` in its own process: orders with each tenant's token, a batch, a
    wrong token and another tenant's token; its output is kept."""
    port = free_port()
    intake = subprocess.Popen(
        [sys.executable, "-m", "sonet_pipeline.cli", "intake", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    ids = []
    try:
        wait_until(lambda: _answers(f"{base}/openapi.json"), timeout=60, what="the intake listens")

        def post(tenant: str, path: str, body: Any, token: str) -> requests.Response:
            headers = {"Authorization": f"Bearer {token}"}
            answer = requests.post(f"{base}/tenants/{tenant}/orders{path}", json=body, headers=headers, timeout=30)
            shown.add(f"intake answer to {tenant}{path} ({answer.status_code})", answer.content)
            return answer

        for tenant in ("acme", "nordic"):
            answer = post(tenant, "", order(f"WEB-SECRET-{tenant}-1"), INTAKE[tenant])
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["message_id"])
        batch = post("acme", "/batch", [order("WEB-SECRET-acme-2"), order("WEB-SECRET-acme-3")], INTAKE["acme"])
        assert batch.status_code == 200, batch.text
        ids += [item["message_id"] for item in batch.json() if "message_id" in item]
        assert post("acme", "", order("WEB-SECRET-acme-4"), WRONG_INTAKE).status_code == 401
        assert post("nordic", "", order("WEB-SECRET-nordic-4"), INTAKE["acme"]).status_code == 401
    finally:
        intake.send_signal(signal.SIGTERM)
        output, _ = intake.communicate(timeout=60)
        shown.add("output of sonet-pipeline intake", output)
    return ids


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def everything_under(folder: Path, shown: Shown) -> int:
    """Every file's bytes; DuckDB stores and Parquet files also as the text of their tables."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    for path in files:
        shown.add(str(path), path.read_bytes())
        if path.suffix == ".parquet":
            with duckdb.connect() as reader:
                table = reader.execute("SELECT * FROM read_parquet(?)", [str(path)]).df()
            shown.add(f"{path} as a table", table.to_csv())
        elif path.suffix == ".duckdb":
            with duckdb.connect(str(path), read_only=True) as store:
                for (table,) in store.execute("SELECT table_name FROM information_schema.tables").fetchall():
                    shown.add(f"{path} table {table}", store.execute(f'SELECT * FROM "{table}"').df().to_csv())
    return len(files)


def everything_dagster_kept(shown: Shown) -> int:
    """Every run's config, tags and event log entries, through the instance API."""
    instance = DagsterInstance.get()
    runs = instance.get_runs()
    for run in runs:
        shown.add(f"run {run.run_id} config", json.dumps(run.run_config, default=str))
        shown.add(f"run {run.run_id} tags", json.dumps(run.tags))
        for entry in instance.all_logs(run.run_id):
            shown.add(f"run {run.run_id} event", repr(entry))
            if entry.dagster_event is not None and entry.dagster_event.is_step_failure:
                shown.add(f"run {run.run_id} failure", repr(entry.dagster_event.step_failure_data.error))
    return len(runs)


def everything_in_the_outbox(shown: Shown) -> int:
    with open_outbox() as outbox:
        messages = outbox.list()
        for message in messages:
            shown.add(f"outbox {message.message_id}", repr(message))
            shown.add(f"outbox {message.message_id} events", repr(outbox.events(message.message_id)))
            shown.add(f"outbox {message.message_id} versions", repr(outbox.versions(message.message_id)))
    return len(messages)


def test_the_search_finds_a_token_in_every_form_it_looks_for():
    """The search is not blind: a token written raw, URL-encoded, JSON-escaped or inside base64 (an
    `Authorization: Basic` header, a base64 blob at any alignment) is found."""
    token = SONET["acme"]
    for written in (
        f"Authorization: Bearer {token}",
        f"?token={urllib.parse.quote(token, safe='')}",
        json.dumps({"token": token}).replace("/", "\\/"),
        *(b"x" + base64.b64encode(prefix.encode() + token.encode() + b"!") for prefix in ("", "u:", "us:")),
    ):
        shown = Shown()
        shown.add("probe", written)
        assert shown.leaks(), written
    clean = Shown()
    clean.add("probe", "tok-QUERY-7f3a91c2-acme and ACME_SONET_TOKEN are not the token")
    assert clean.leaks() == []


def test_no_token_shows_anywhere_after_a_full_cycle(cycle_env, tmp_path, monkeypatch, capfd, caplog):
    caplog.set_level("DEBUG")
    shown = Shown()

    assert run_cli(shown, capfd, "tenants", "check", "--json") == 0
    assert run_cli(shown, capfd, "sync", "--json") == 0
    assert run_cli(shown, capfd, "shop", "publish", "--json") == 0
    ids = take_orders_over_http(shown, tmp_path)
    assert len(ids) == 4
    enqueue_file = tmp_path / "orders.jsonl"
    enqueue_file.write_text(json.dumps(order("WEB-SECRET-nordic-2")) + "\n")
    assert run_cli(shown, capfd, "orders", "enqueue", str(enqueue_file), "--tenant", "nordic", "--json") == 0
    assert run_cli(shown, capfd, "send", "--json") == 0
    with open_outbox() as outbox:
        assert outbox.status(datetime.now(UTC))["tenants"]["acme"]["sent"] == 3  # through Sonet's Message API
    for argv in (
        ("outbox", "status", "--json"),
        ("outbox", "list", "--json"),
        ("outbox", "show", ids[0], "--json"),
        ("outbox", "show", ids[0], "--xml"),
        ("outbox", "show", ids[0]),
        ("outbox", "reconcile", "--tenant", "acme", "--json"),
        ("store", "dump", "--tenant", "acme", "--entity", "customers"),
        ("shop", "publish", "--json"),
    ):
        assert run_cli(shown, capfd, *argv) in (0, 1), argv

    # Sonet refuses nordic's token now: a sync and a send fail, with exception text in their runs.
    monkeypatch.setenv("NORDIC_SONET_TOKEN", WRONG_SONET)
    enqueue_file.write_text(json.dumps(order("WEB-SECRET-nordic-3")) + "\n")
    assert run_cli(shown, capfd, "orders", "enqueue", str(enqueue_file), "--tenant", "nordic") == 0
    assert run_cli(shown, capfd, "sync", "--tenant", "nordic", "--json") == 1
    assert run_cli(shown, capfd, "send", "--tenant", "nordic", "--json") == 1
    assert run_cli(shown, capfd, "outbox", "reconcile", "--tenant", "nordic", "--json") != 0
    failures = " ".join(text.decode() for where, text in shown.places if where.startswith("stdout of s"))
    assert "401" in failures or "refused" in failures  # the failure path did produce exception text

    data_dir = settings.data_dir()
    assert Path(os.environ["DAGSTER_HOME"]).is_relative_to(data_dir)
    counted = {
        "files": everything_under(data_dir, shown),
        "runs": everything_dagster_kept(shown),
        "outbox messages": everything_in_the_outbox(shown),
    }
    shown.add("log records", caplog.text)
    shown.add("log records' arguments", repr([(r.msg, r.args) for r in caplog.records]))
    assert counted["runs"] >= 6 and counted["outbox messages"] == 6 and counted["files"] > 20, counted
    archived = [where for where, _ in shown.places if "/archive/" in where]
    published = [where for where, _ in shown.places if "/published/" in where]
    assert archived and published, "the archive and the shop's files were searched"

    assert shown.leaks() == []
