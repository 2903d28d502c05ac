"""`sonet-pipeline demo`: the Sonet stand-in, the order intake and `dagster dev` with the demo tenants.

All three run as child processes. The stand-in serves the demo companies with their demo tokens, keeps its
state under the data dir (so accepted orders survive a restart) and makes a little ERP activity.
The intake takes web-shop orders into the outbox; `dagster dev` (with `DAGSTER_HOME` under the data dir)
syncs every minute and sends what the intake stored. Ctrl-C (or SIGTERM) stops all three.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import requests

from sonet_pipeline.config import settings
from sonet_pipeline.jobs.instance import ensure_dagster_home

#: The stand-in's demo tokens and the intake's demo tokens, under the env vars the demo tenants name.
DEMO_TOKENS = {
    "ACME_SONET_TOKEN": "demo-token-acme",
    "NORDIC_SONET_TOKEN": "demo-token-nordic",
    "ACME_INTAKE_TOKEN": "demo-intake-acme",
    "NORDIC_INTAKE_TOKEN": "demo-intake-nordic",
}


class DemoError(RuntimeError):
    """The demo cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class DemoOptions:
    host: str = "127.0.0.1"
    standin_port: int = 8765
    ui_port: int = 3000
    intake_port: int = 8780
    changes_per_minute: int = 30
    items: int = 2000
    startup_seconds: float = 180.0


def run_demo(options: DemoOptions) -> int:
    """Start both, print where they are, wait until one stops or we are told to stop."""
    ports = (("stand-in", options.standin_port), ("Dagster UI", options.ui_port), ("intake", options.intake_port))
    for name, port in ports:
        if not _port_free(options.host, port):
            raise DemoError(f"port {port} for the {name} is in use on {options.host}: free it or pick another")
    env = _demo_environment()
    children: list[subprocess.Popen] = []
    stop = _install_stop_handlers()
    try:
        children.append(_start(_standin_command(options), env))
        standin_url = f"http://{options.host}:{options.standin_port}"
        _wait_for(f"{standin_url}/health", children, options.startup_seconds, "the Sonet stand-in")
        children.append(_start(_intake_command(options), env))
        intake_url = f"http://{options.host}:{options.intake_port}"
        _wait_for(f"{intake_url}/health", children, options.startup_seconds, "the order intake")
        children.append(_start(_dagster_command(options), env))
        ui_url = f"http://{options.host}:{options.ui_port}"
        _wait_for(f"{ui_url}/server_info", children, options.startup_seconds, "the Dagster UI")
        print(f"Sonet stand-in: {standin_url}", flush=True)
        print(f"Order intake:   {intake_url}/tenants/acme/orders   (Bearer {env['ACME_INTAKE_TOKEN']})", flush=True)
        print(f"Dagster UI:     {ui_url}", flush=True)
        print(f"Data dir:       {settings.data_dir()}   (Ctrl-C stops all three)", flush=True)
        while not stop() and all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = [c for c in children if c.poll() not in (None, 0)]
        return 1 if failed and not stop() else 0
    finally:
        _stop_all(children)


def _demo_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(ensure_dagster_home())
    env.setdefault(settings.DATA_DIR_ENV, str(settings.data_dir()))
    for variable, token in DEMO_TOKENS.items():
        env.setdefault(variable, token)
    return env


def _standin_command(options: DemoOptions) -> list[str]:
    state_file = settings.data_dir() / "standin" / "state.jsonl"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable, "-m", "sonet_pipeline.cli", "standin",
        "--host", options.host, "--port", str(options.standin_port),
        "--items", str(options.items),
        "--changes-per-minute", str(options.changes_per_minute),
        "--state-file", str(state_file),
    ]  # fmt: skip


def _intake_command(options: DemoOptions) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sonet_pipeline.cli",
        "intake",
        "--host",
        options.host,
        "--port",
        str(options.intake_port),
    ]


def _dagster_command(options: DemoOptions) -> list[str]:
    return [
        sys.executable, "-m", "dagster", "dev",
        "-m", "sonet_pipeline.definitions",
        "--host", options.host, "--port", str(options.ui_port),
    ]  # fmt: skip


def _start(command: Sequence[str], env: dict[str, str]) -> subprocess.Popen:
    # A child of a non-interactive shell ignores SIGINT unless it is restored (field notes).
    return subprocess.Popen(
        command, env=env, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )


def _wait_for(url: str, children: list[subprocess.Popen], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise DemoError(f"{what} stopped while starting (see its output above)")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise DemoError(f"{what} did not answer at {url} within {seconds:.0f} s")


def _stop_all(children: list[subprocess.Popen]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    for child in reversed(children):
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=10)


def _install_stop_handlers():
    stopping = {"now": False}

    def request_stop(signum, frame):
        stopping["now"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return lambda: stopping["now"]


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
