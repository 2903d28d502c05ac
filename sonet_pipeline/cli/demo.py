"""`sonet-pipeline demo`: the Sonet stand-in, the order intake and `dagster dev` with the demo tenants,
and a simulated web shop that orders.

All three servers run as child processes. The stand-in serves the demo companies with their demo tokens,
keeps its state under the data dir (so accepted orders survive a restart) and makes a little ERP activity.
The intake takes web-shop orders into the outbox; `dagster dev` (with `DAGSTER_HOME` under the data dir)
syncs every minute, publishes the shop's files and sends what the intake stored. The web shop
(`cli/demo_shop.py`, off with `--no-shop`) runs in this process: once a tenant's files are published it
posts orders built from them to the intake, now and then one meant to be refused. Ctrl-C (or SIGTERM)
stops them all. `demo --once` is `cli/demo_once.py`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from sonet_pipeline.cli.demo_processes import DemoError, port_free, start, stop_all, wait_for
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.jobs.instance import ensure_dagster_home
from sonet_pipeline.webshop.pace import Pace

__all__ = ["DEFAULT_SHOP_PACE", "DEMO_TOKENS", "DemoError", "DemoOptions", "run_demo"]

#: The stand-in's demo tokens and the intake's demo tokens, under the env vars the demo tenants name.
DEMO_TOKENS = {
    "ACME_SONET_TOKEN": "demo-token-acme",
    "NORDIC_SONET_TOKEN": "demo-token-nordic",
    "ACME_INTAKE_TOKEN": "demo-intake-acme",
    "NORDIC_INTAKE_TOKEN": "demo-intake-nordic",
}

#: The web shop's default: 6 orders a minute, every 10th meant to be refused, no bursts.
DEFAULT_SHOP_PACE = Pace()


@dataclass(frozen=True)
class DemoOptions:
    host: str = "127.0.0.1"
    standin_port: int = 8765
    ui_port: int = 3000
    intake_port: int = 8780
    changes_per_minute: int = 30
    items: int = 2000
    startup_seconds: float = 180.0
    shop: Pace | None = DEFAULT_SHOP_PACE  # the simulated web shop's pace; None: no web shop


def run_demo(options: DemoOptions) -> int:
    """Start them all, print where they are, wait until one stops or we are told to stop."""
    ports = (("stand-in", options.standin_port), ("Dagster UI", options.ui_port), ("intake", options.intake_port))
    for name, port in ports:
        if not port_free(options.host, port):
            raise DemoError(f"port {port} for the {name} is in use on {options.host}: free it or pick another")
    env = _demo_environment()
    children: list[subprocess.Popen[bytes]] = []
    stop = _install_stop_handlers()
    stop_shop: Callable[[], None] | None = None
    try:
        children.append(start(_standin_command(options), env))
        standin_url = f"http://{options.host}:{options.standin_port}"
        wait_for(f"{standin_url}/health", children, options.startup_seconds, "the Sonet stand-in")
        children.append(start(_intake_command(options), env))
        intake_url = f"http://{options.host}:{options.intake_port}"
        wait_for(f"{intake_url}/health", children, options.startup_seconds, "the order intake")
        children.append(start(_dagster_command(options), env))
        ui_url = f"http://{options.host}:{options.ui_port}"
        wait_for(f"{ui_url}/server_info", children, options.startup_seconds, "the Dagster UI")
        print(f"Sonet stand-in: {standin_url}", flush=True)
        print(f"Order intake:   {intake_url}/tenants/acme/orders   (Bearer {env['ACME_INTAKE_TOKEN']})", flush=True)
        print(f"Dagster UI:     {ui_url}", flush=True)
        print(f"Data dir:       {settings.data_dir()}   (Ctrl-C stops all three)", flush=True)
        if options.shop is not None:
            stop_shop = _start_shop(options.shop, intake_url, env)
        while not stop() and all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = [c for c in children if c.poll() not in (None, 0)]
        return 1 if failed and not stop() else 0
    finally:
        if stop_shop is not None:
            stop_shop()
        stop_all(children)


def _start_shop(pace: Pace, intake_url: str, env: dict[str, str]) -> Callable[[], None]:
    from sonet_pipeline.cli.demo_shop import shop_tenants, start_web_shop

    tenants = shop_tenants(load_tenants(), env, say=_say)
    burst = f", a burst of {pace.burst} every {pace.burst_every_seconds:g} s" if pace.burst else ""
    refused = f", every {pace.refuse_every}th meant to be refused" if pace.refuse_every else ""
    print(
        f"Web shop:       {pace.orders_per_minute:g} orders/min{refused}{burst} for "
        f"{', '.join(t.name for t in tenants) or 'no tenant'}, from their published files   (--no-shop: off)",
        flush=True,
    )
    return start_web_shop(intake_url, tenants, pace, say=_say)


def _say(line: str) -> None:
    print(line, flush=True)


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


def _install_stop_handlers():
    stopping = {"now": False}

    def request_stop(signum, frame):
        stopping["now"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return lambda: stopping["now"]
