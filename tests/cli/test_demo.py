"""The README's first command: `sonet-pipeline demo` serves the stand-in and the Dagster UI, and stops cleanly."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import requests

from sonet_pipeline.config import settings
from sonet_pipeline.contract import read_text

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_demo(
    tmp_path: Path, tokens: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], dict[str, str], tuple[int, int, int]]:
    """`sonet-pipeline demo` with 50 items a company on free ports, its tenants file and state under
    `tmp_path`, the variables of `tokens` set where unset: (the process, its environment, the stand-in's,
    the UI's and the intake's ports)."""
    standin_port, ui_port, intake_port = free_port(), free_port(), free_port()
    tenants = settings.demo_tenants_file().read_text().replace("127.0.0.1:8765", f"127.0.0.1:{standin_port}")
    (tmp_path / "tenants.yaml").write_text(tenants)
    env = {**os.environ, settings.TENANTS_ENV: str(tmp_path / "tenants.yaml"), settings.DATA_DIR_ENV: str(tmp_path)}
    env.pop("DAGSTER_HOME", None)
    env.update({variable: env.get(variable) or token for variable, token in (tokens or {}).items()})
    demo = subprocess.Popen(
        [sys.executable, "-m", "sonet_pipeline.cli", "demo", "--standin-port", str(standin_port),
         "--ui-port", str(ui_port), "--intake-port", str(intake_port), "--items", "50"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    return demo, env, (standin_port, ui_port, intake_port)


def read_until(process: subprocess.Popen, prefix: str, seconds: float) -> str:
    """The first stdout line starting with `prefix`, or fail after `seconds` (read in a thread: no blocking)."""
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None:
                pytest.fail(f"demo exited with {process.returncode} before printing {prefix!r}: {seen}")
            continue
        seen.append(line)
        if line.startswith(prefix):
            return line.strip()
    pytest.fail(f"demo did not print {prefix!r} within {seconds} s; output so far: {seen}")


def test_demo_serves_standin_and_ui_with_the_demo_tenants(tmp_path: Path):
    """The stand-in answers the demo tokens, the intake takes an order, the UI loads the code location, and
    Ctrl-C stops all three."""
    demo, _, (standin_port, ui_port, intake_port) = start_demo(tmp_path)
    try:
        ui_line = read_until(demo, "Dagster UI:", seconds=240)
        ui = ui_line.split()[-1]
        answer = requests.post(
            f"{ui}/graphql",
            json={
                "query": "{ workspaceOrError { ... on Workspace { locationEntries { name "
                "locationOrLoadError { __typename } } } } }"
            },
            timeout=30,
        ).json()
        [entry] = answer["data"]["workspaceOrError"]["locationEntries"]
        assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry

        graphql = requests.post(
            f"http://127.0.0.1:{standin_port}/graphql",
            json={"query": "{ items(first: 1) { edges { node { itemCode } } } }"},
            headers={"Authorization": "Bearer demo-token-acme", "X-Sonet-Company": "01"},
            timeout=10,
        )
        assert graphql.status_code == 200 and graphql.json()["data"]["items"]["edges"]
        assert (tmp_path / "dagster" / "dagster.yaml").exists()

        order = json.loads(read_text("examples/commerce-order-b2b.json"))
        guest = {**order, "orderNumber": "WEB-GUEST-1", "customer": {"kind": "guest", "name": "M", "email": "m@x.fi"}}
        orders_url = f"http://127.0.0.1:{intake_port}/tenants/acme/orders"
        auth = {"Authorization": "Bearer demo-intake-acme"}
        stored = requests.post(orders_url, json=guest, headers=auth, timeout=10)
        assert stored.status_code == 202, stored.text
        # An account order needs the rights the first sync publishes: until then 503 RIGHTS_UNKNOWN.
        account = requests.post(orders_url, json=order, headers=auth, timeout=10)
        assert account.status_code == 202 or (
            account.status_code == 503 and account.json()["error"]["code"] == "RIGHTS_UNKNOWN"
        ), account.text
    finally:
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=90) == 0
    for port in (standin_port, ui_port, intake_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after the demo stopped"
