"""`sonet-pipeline demo --once`: one full cycle of the demo, headless and checked, then stop.

It runs in its own world, `<data dir>/demo-once/` (emptied at the start, left for inspection after),
always embedded (SQLite, DuckDB and files: the PostgreSQL, S3 and broker settings are left out of its
processes), with the demo tenants pointed at a stand-in on a free port. The stages, in order:

1. `stand-in`: the Sonet stand-in starts, without ERP activity (so the outcome is decided);
2. `sync`: `sonet-pipeline sync`, the initial load through Dagster;
3. `shop publish`: `sonet-pipeline shop publish`: catalogue, accounts, logins, rights;
4. `orders in`: the intake starts on a free port and the simulated web shop (`webshop/`) posts per
   tenant, from its published files, `VALID_ORDERS` valid orders (alone, then as one batch), one Sonet
   will refuse (UNKNOWN_ITEM) and one the intake refuses at the door (NOT_ALLOWED);
5. `send`: `sonet-pipeline send`;
6. `order status`: `sonet-pipeline shop publish` again; the published `order_status.jsonl` says `sent`
   (with Sonet's order number) for each valid order, `failed` UNKNOWN_ITEM for the one Sonet refused,
   and nothing of the one refused at the door;
7. `sonet`: the stand-in lists each valid order exactly once, under that order number, and no other.

The commands run with `--json` (their summaries are stable, ../shared/conventions.md) one after another
in one child process (`demo_once_commands.py`), their logs in `demo-once/logs/commands.log`, the
stand-in's and the intake's beside them. The first stage that fails ends the cycle; `OnceReport` names it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from sonet_pipeline.cli.demo import DEMO_TOKENS
from sonet_pipeline.cli.demo_once_commands import CommandProcess
from sonet_pipeline.cli.demo_once_report import OnceReport, Stage, StageFailed, stage_line
from sonet_pipeline.cli.demo_processes import DemoError, free_port, start, stop_all, wait_for
from sonet_pipeline.cli.demo_shop import order_prefix
from sonet_pipeline.common.blobs import FolderBlobs
from sonet_pipeline.common.clock import SystemClock
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import Tenant, load_tenants
from sonet_pipeline.webshop.intake_client import IntakeClient
from sonet_pipeline.webshop.order_builder import NothingToOrder, OrderBuilder, ShopOrder
from sonet_pipeline.webshop.published import read_published
from sonet_pipeline.webshop.simulator import meant

WORLD = "demo-once"
VALID_ORDERS = 4  # per tenant: two posted alone, two as one batch
DEFAULT_ITEMS = 200
COMMAND_SECONDS = 300.0
#: Settings that would take the cycle's processes out of the embedded defaults.
_NOT_EMBEDDED = (
    settings.POSTGRES_DSN_ENV,
    settings.S3_URL_ENV,
    settings.BROKER_URL_ENV,
    settings.RESULT_BACKEND_ENV,
    "DAGSTER_HOME",
)


@dataclass(frozen=True)
class OnceOptions:
    host: str = "127.0.0.1"
    items: int = DEFAULT_ITEMS
    seed: int = 1
    startup_seconds: float = 120.0


def run_once(options: OnceOptions, *, progress: Callable[[str], None]) -> OnceReport:
    """Run the cycle; `progress` gets each stage's line as it ends. Never raises for a failed stage."""
    started = time.monotonic()
    world = settings.data_dir() / WORLD
    shutil.rmtree(world, ignore_errors=True)
    (world / "logs").mkdir(parents=True)
    cycle = _Cycle(options, world)
    report = OnceReport(world)
    steps: list[tuple[str, Callable[[], str]]] = [
        ("stand-in", cycle.start_standin),
        ("sync", cycle.sync),
        ("shop publish", cycle.publish_shop),
        ("orders in", cycle.orders_in),
        ("send", cycle.send),
        ("order status", cycle.order_status),
        ("sonet", cycle.sonet_holds_orders),
    ]
    try:
        for name, step in steps:
            begun = time.monotonic()
            try:
                stage = Stage(name, True, 0.0, step())
            except (StageFailed, DemoError) as exc:
                stage = Stage(name, False, 0.0, str(exc))
            except Exception as exc:  # an unforeseen error still names its stage
                stage = Stage(name, False, 0.0, f"{type(exc).__name__}: {exc}")
            stage.seconds = time.monotonic() - begun
            report.stages.append(stage)
            progress(stage_line(stage))
            if not stage.ok:
                break
    finally:
        cycle.stop()
        report.orders = cycle.posted
        report.seconds = time.monotonic() - started
    return report


class _Cycle:
    """The cycle's state between stages: its processes, its tenants, the orders it posted."""

    def __init__(self, options: OnceOptions, world: Path) -> None:
        self.options, self.world = options, world
        self.children: list[subprocess.Popen[bytes]] = []
        self.commands: CommandProcess | None = None
        self.env = {key: value for key, value in os.environ.items() if key not in _NOT_EMBEDDED}
        self.env.update(DEMO_TOKENS)
        self.env[settings.DATA_DIR_ENV] = str(world)
        self.env[settings.TENANTS_ENV] = str(world / "tenants.yaml")
        self.tenants: list[Tenant] = []
        self.standin_url = ""
        self.posted: dict[str, dict[str, list[str]]] = {}
        self.shop_orders: dict[str, list[ShopOrder]] = {}

    def stop(self) -> None:
        if self.commands is not None:
            self.commands.close()
        stop_all(self.children)

    # -- the stages: each answers its line's detail, or raises StageFailed ------------------------------

    def start_standin(self) -> str:
        port = free_port(self.options.host)
        self.standin_url = f"http://{self.options.host}:{port}"
        self._write_tenants()
        command = [
            sys.executable, "-m", "sonet_pipeline.cli", "standin", "--host", self.options.host, "--port", str(port),
            "--items", str(self.options.items), "--seed", str(self.options.seed), "--changes-per-minute", "0",
        ]  # fmt: skip
        self.children.append(start(command, self.env, log=self.world / "logs" / "standin.log"))
        wait_for(f"{self.standin_url}/health", self.children, self.options.startup_seconds, "the Sonet stand-in")
        return f"{self.standin_url}, {self.options.items} items a company, tenants {self._names()}"

    def sync(self) -> str:
        summary = self._command(["sync"])
        changed = {name: figures.get("sync", {}).get("records_changed") for name, figures in summary["tenants"].items()}
        return ", ".join(f"{name}: {count} records" for name, count in sorted(changed.items()))

    def publish_shop(self) -> str:
        summary = self._command(["shop", "publish"])
        missing = [t.name for t in self.tenants if read_published(self._files(t)) is None]
        if missing:
            raise StageFailed(f"no published catalogue, accounts, logins and rights for {', '.join(missing)}")
        return _files_published(summary)

    def orders_in(self) -> str:
        port = free_port(self.options.host)
        command = [
            sys.executable,
            "-m",
            "sonet_pipeline.cli",
            "intake",
            "--host",
            self.options.host,
            "--port",
            str(port),
        ]
        self.children.append(start(command, self.env, log=self.world / "logs" / "intake.log"))
        intake_url = f"http://{self.options.host}:{port}"
        wait_for(f"{intake_url}/health", self.children, self.options.startup_seconds, "the order intake")
        client = IntakeClient(intake_url)
        try:
            return "; ".join(self._orders_of(tenant, client) for tenant in self.tenants)
        finally:
            client.close()

    def send(self) -> str:
        summary = self._command(["send"])
        totals: dict[str, int] = {}
        for figures in summary["tenants"].values():
            for asset in figures.values():
                for name in ("sent", "failed"):
                    if isinstance(asset.get(name), int):
                        totals[name] = totals.get(name, 0) + asset[name]
        return ", ".join(f"{count} {name}" for name, count in totals.items()) or "the send run succeeded"

    def order_status(self) -> str:
        self._command(["shop", "publish"])
        said = []
        for tenant in self.tenants:
            rows = _json_lines(self._files(tenant).get("order_status.jsonl"))
            by_number = {row.get("orderNumber"): row for row in rows}
            for order in self.shop_orders[tenant.name]:
                row = by_number.get(order.number)
                _check_status(tenant.name, order, row)
            counts: dict[str, int] = {}
            for order in self.shop_orders[tenant.name]:
                status = (by_number.get(order.number) or {}).get("status", "not listed")
                counts[status] = counts.get(status, 0) + 1
            said.append(f"{tenant.name}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
        return "; ".join(said) + " (as meant)"

    def sonet_holds_orders(self) -> str:
        said = []
        for tenant in self.tenants:
            url = f"{self.standin_url}/admin/companies/{tenant.sonet.company}/orders"
            accepted = requests.get(url, timeout=30).json()
            counts: dict[str, int] = {}
            for order in accepted:
                counts[order["webOrderNumber"]] = counts.get(order["webOrderNumber"], 0) + 1
            for order in self.shop_orders[tenant.name]:
                wanted = 1 if order.expected_error is None else 0
                if counts.get(order.number, 0) != wanted:
                    raise StageFailed(
                        f"{tenant.name}: Sonet holds {order.number} ({order.kind}) "
                        f"{counts.get(order.number, 0)} times, not {wanted}"
                    )
            valid = sum(1 for o in self.shop_orders[tenant.name] if o.expected_error is None)
            said.append(f"{tenant.name}: {valid} accepted once each")
        return "; ".join(said)

    # -- helpers ------------------------------------------------------------------------------------------

    def _write_tenants(self) -> None:
        """The demo tenants, their Sonet the cycle's stand-in."""
        document = yaml.safe_load(settings.demo_tenants_file().read_text(encoding="utf-8"))
        for tenant in document["tenants"]:
            tenant["sonet"]["base_url"] = self.standin_url
        path = self.world / "tenants.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
        self.tenants = load_tenants(path)

    def _names(self) -> str:
        return ", ".join(t.name for t in self.tenants)

    def _files(self, tenant: Tenant) -> FolderBlobs:
        return FolderBlobs(self.world / "published" / tenant.name)

    def _command(self, args: list[str]) -> dict[str, Any]:
        """`sonet-pipeline ARGS --json` in the cycle's world: its summary, or StageFailed saying why."""
        log = self.world / "logs" / "commands.log"
        if self.commands is None:
            self.commands = CommandProcess(self.env, log)
        shown = f"`sonet-pipeline {' '.join(args)}`"
        try:
            code, printed = self.commands.run([*args, "--json"], COMMAND_SECONDS)
        except (TimeoutError, RuntimeError) as exc:
            self.commands.close()
            self.commands = None
            raise StageFailed(f"{shown}: {exc} (see {log})") from None
        try:
            summary = json.loads(printed)
        except ValueError:
            raise StageFailed(f"{shown} exited {code} without its JSON summary (see {log})") from None
        if code != 0 or not summary.get("success"):
            failures = "; ".join(map(str, summary.get("failures") or [])) or "no failure named"
            raise StageFailed(f"{shown} exited {code}: {failures} (see {log})")
        return dict(summary)

    def _orders_of(self, tenant: Tenant, client: IntakeClient) -> str:
        shop = read_published(self._files(tenant))
        if shop is None:
            raise StageFailed(f"{tenant.name}: its files are not published")
        token = self.env[str(tenant.intake_token_env)]
        builder = OrderBuilder(shop, guests=tenant.order_rights.guest_orders)
        rng, now = random.Random(self.options.seed), SystemClock().now()
        prefix = f"{order_prefix(now, 'D')}-{tenant.name[:8]}"
        numbers = (f"{prefix}-{n:02d}" for n in range(1, 100))
        try:
            kinds = [False if builder.buyers else None, True if builder.guests else None, None, None]
            valid = [builder.valid(next(numbers), now, rng, guest=guest) for guest in kinds[:VALID_ORDERS]]
            by_sonet = builder.refused_by_sonet(next(numbers), now, rng)
            at_door = builder.refused_at_door(next(numbers), now, rng)
        except NothingToOrder as exc:
            raise StageFailed(f"{tenant.name}: nothing to order: {exc}") from None
        alone = [*valid[:2], by_sonet, *([at_door] if at_door is not None else [])]
        answered = [(order, client.post(tenant.name, token, order.order)) for order in alone]
        batch = valid[2:]
        answered += zip(batch, client.post_batch(tenant.name, token, [o.order for o in batch]), strict=True)
        for order, answer in answered:
            if not meant(order, answer):
                raise StageFailed(f"{tenant.name}: {order.number} ({order.note}) was answered {answer.describe()}")
        self.shop_orders[tenant.name] = [order for order, _ in answered]
        kinds_posted: dict[str, list[str]] = {}
        for order, _ in answered:
            kinds_posted.setdefault(order.kind, []).append(order.number)
        self.posted[tenant.name] = kinds_posted
        door = "1 refused at the door" if at_door is not None else "none refused at the door (no login to refuse)"
        return f"{tenant.name}: {len(valid)} taken, 1 for Sonet to refuse, {door}"


def _check_status(tenant: str, order: ShopOrder, row: dict[str, Any] | None) -> None:
    """StageFailed unless the published order status is what the order's kind means."""
    where = f"{tenant}: order_status.jsonl"
    if order.expected_error == "NOT_ALLOWED":
        if row is not None:
            raise StageFailed(f"{where} lists {order.number}, which the intake refused at the door")
        return
    if row is None:
        raise StageFailed(f"{where} has no line for {order.number}")
    if order.expected_error is None:
        if row.get("status") != "sent" or not row.get("sonetOrderNumber"):
            raise StageFailed(f"{where}: {order.number} is {row.get('status')!r}, not sent: {row.get('reason')}")
        return
    code = (row.get("reason") or {}).get("code")
    if row.get("status") != "failed" or code != order.expected_error:
        raise StageFailed(
            f"{where}: {order.number} is {row.get('status')!r} ({code}), not failed {order.expected_error}"
        )


def _files_published(summary: dict[str, Any]) -> str:
    said = []
    for name, tenant in sorted(summary.get("tenants", {}).items()):
        files = tenant.get("files") or {}
        said.append(f"{name}: " + ", ".join(f"{file} {figures.get('records')}" for file, figures in files.items()))
    return "; ".join(said) or "nothing was stale"


def _json_lines(data: bytes | None) -> list[dict[str, Any]]:
    if data is None:
        return []
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
