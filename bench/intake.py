"""How many orders/s the HTTP intake stores durably, next to the same server stack storing nothing.

The server (uvicorn + Starlette, one worker, uvloop/httptools when installed) runs in this process; the
client runs in a separate process (multiprocessing, spawn) with `http.client` threads, one keep-alive
connection each, so the client is not the bottleneck. The outbox is SQLite (WAL, synchronous=FULL) in
a temp dir on the project's disk. Scenarios:

- ceiling: a bench-only route (this script's own app) that reads and parses the order, stores nothing;
- single orders: group commit (the intake as shipped), its variants (commits on the event loop, a 2 ms
  linger), and grouping off (one commit per order); each with the server's CPU per order;
- p50/p99 latency at a steady 100 orders/s (open loop, measured from each request's scheduled time);
- the batch route with 1,000 orders per request;
- `validate_order` and `enqueue_many` alone, CPU per order (the intake's budget beyond the ceiling).

    .venv/bin/python bench/intake.py [--seconds 5] [--threads 32] [--rounds 3]

Throughput varies with whatever else the machine runs; the server CPU per order does much less.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sonet_pipeline.common.asgi_thread import AsgiThread
from sonet_pipeline.config.tenants import SonetConnection, Tenant
from sonet_pipeline.contract import read_text
from sonet_pipeline.intake.rights_gate import PublishedRights
from sonet_pipeline.intake.server import RunningIntake
from sonet_pipeline.orders.validation import validate_order
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.standin.seed_data import generate_company
from sonet_pipeline.store import Snapshot, TenantStore, to_frame

TOKEN = "bench-intake-token"
TOKENS = {"BENCH_INTAKE_TOKEN": TOKEN}
TENANT = Tenant(
    name="bench",
    sonet=SonetConnection(base_url="http://127.0.0.1:9", company="01", token_env="BENCH_SONET_TOKEN"),
    intake_token_env="BENCH_INTAKE_TOKEN",
)
ORDERS_PATH = "/tenants/bench/orders"
EXAMPLE: dict[str, Any] = json.loads(read_text("examples/commerce-order-b2b.json"))
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


# -- the ceiling: parse the order, store nothing ----------------------------------------------------


async def _parse_only(request: Request) -> Response:
    order = json.loads(await request.body())
    return JSONResponse({"message_id": order["orderNumber"], "state": "pending"}, 202)


def ceiling_app() -> Starlette:
    return Starlette(routes=[Route(ORDERS_PATH, _parse_only, methods=["POST"])])


# -- the client side (runs in its own process) ------------------------------------------------------

_HEAD, _TAIL = json.dumps(EXAMPLE, separators=(",", ":")).encode().split(EXAMPLE["orderNumber"].encode())


def _body(number: str) -> bytes:
    return _HEAD + number.encode() + _TAIL


def _connect(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def _post(connection: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, bytes]:
    connection.request("POST", path, body, HEADERS)
    answer = connection.getresponse()
    return answer.status, answer.read()


def _in_threads(threads: int, run: Callable[[int], Counter[int]]) -> tuple[Counter[int], float]:
    """Run `run(0..threads-1)` in threads; their statuses added up, and the wall seconds until all are done."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def counted(thread: int) -> None:
        seen = run(thread)
        with lock:
            statuses.update(seen)

    workers = [threading.Thread(target=counted, args=(t,)) for t in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses, time.perf_counter() - began


def closed_loop(base_url: str, prefix: str, threads: int, seconds: float) -> dict[str, Any]:
    """`threads` connections posting single orders back to back for `seconds`."""
    deadline = time.perf_counter() + seconds

    def run(thread: int) -> Counter[int]:
        connection, seen, n = _connect(base_url), Counter[int](), 0
        while time.perf_counter() < deadline:
            seen[_post(connection, ORDERS_PATH, _body(f"{prefix}-{thread}-{n}"))[0]] += 1
            n += 1
        return seen

    statuses, seconds = _in_threads(threads, run)
    return {"statuses": statuses, "seconds": seconds}


def paced(base_url: str, prefix: str, rate: float, seconds: float, threads: int = 4) -> dict[str, Any]:
    """An open loop: request i is due at start + i/rate; its latency counts from when it was due."""
    latencies: list[float] = []  # list.append is atomic
    total, began = int(rate * seconds), time.perf_counter() + 0.2

    def run(thread: int) -> Counter[int]:
        connection, seen = _connect(base_url), Counter[int]()
        for i in range(thread, total, threads):
            due = began + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            seen[_post(connection, ORDERS_PATH, _body(f"{prefix}-{i}"))[0]] += 1
            latencies.append(time.perf_counter() - due)
        return seen

    statuses, _ = _in_threads(threads, run)
    return {"statuses": statuses, "latencies": latencies}


def batches(base_url: str, prefix: str, requests: int, size: int, threads: int = 2) -> dict[str, Any]:
    """`requests` batch posts of `size` orders each, over `threads` connections (so the server is not
    idle while the client reads an answer); statuses are the per-order ones."""
    bodies = [b"[" + b",".join(_body(f"{prefix}-{r}-{i}") for i in range(size)) + b"]" for r in range(requests)]

    def run(thread: int) -> Counter[int]:
        connection, seen = _connect(base_url), Counter[int]()
        for body in bodies[thread::threads]:
            seen.update(entry["status"] for entry in json.loads(_post(connection, ORDERS_PATH + "/batch", body)[1]))
        return seen

    statuses, seconds = _in_threads(threads, run)
    return {"statuses": statuses, "seconds": seconds, "bytes_per_request": len(bodies[0])}


def in_client_process(function: Any, *args: Any) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


# -- scenarios --------------------------------------------------------------------------------------

#: name -> committer settings (None: the ceiling app); the first intake variant is the intake as shipped.
VARIANTS: dict[str, dict[str, Any] | None] = {
    "ceiling (parse, store nothing)": None,
    "group commit": {},
    "group commit, inline": {"in_thread": False},
    "group commit, linger 2 ms": {"linger_seconds": 0.002},
    "one commit per order": {"max_orders": 1},
}


@dataclass
class Run:
    rate: float
    cpu_per_order: float
    orders_per_commit: float


def start_server(work: Path, name: str, settings: dict[str, Any] | None) -> tuple[AsgiThread, Any]:
    if settings is None:
        return AsgiThread(ceiling_app()).start(), None
    outbox = open_outbox(work / f"{len(list(work.iterdir()))}.sqlite")
    rights = PublishedRights(lambda tenant: rights_snapshot(work))
    running = RunningIntake([TENANT], outbox, token_lookup=TOKENS.get, rights=rights).start()
    for key, value in settings.items():
        setattr(running.committer, key, value)
    return running, outbox


def rights_snapshot(work: Path) -> Snapshot:
    """The stand-in's seed customers and segments published as a sync would (the example order's
    C10042-2 may order): the intake checks each order's rights against it, as in production."""
    folder = work / "snapshot"
    if not (folder / "manifest.json").exists():
        company = generate_company(1, items=8)
        with TenantStore.open(work / "store.duckdb") as store:
            for name, records in (("customers", company.customers), ("segments", company.customer_segments)):
                nodes = [{**r, "dateModified": r["dateModified"].isoformat().replace("+00:00", "Z")} for r in records]
                store.upsert(
                    name, to_frame(name, nodes), run_id="bench", partition="bench", synced_at=datetime.now(UTC)
                )
                store.record_success(name, run_id="bench", at=datetime.now(UTC))
            store.publish_snapshot(folder)
    return Snapshot(folder)


def throughput(work: Path, name: str, settings: dict[str, Any] | None, args: argparse.Namespace, tag: str) -> Run:
    server, outbox = start_server(work, name, settings)
    try:
        in_client_process(closed_loop, server.base_url, f"W{tag}", args.threads, 0.5)  # warm-up
        cpu = time.process_time()
        result = in_client_process(closed_loop, server.base_url, tag, args.threads, args.seconds)
        server_cpu = time.process_time() - cpu
        committer = getattr(server, "committer", None)
        per_commit = committer.committed_orders / max(committer.commits, 1) if committer else 0.0
    finally:
        server.stop()
        if outbox is not None:
            outbox.close()
    ok = result["statuses"].get(202, 0)
    if ok != sum(result["statuses"].values()):
        raise SystemExit(f"{name}: unexpected statuses {result['statuses']}")
    return Run(ok / result["seconds"], server_cpu / ok * 1e6, per_commit)


def validation_rate(seconds: float = 1.0) -> float:
    """`validate_order` calls per second on one core (the example order, valid)."""
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for _ in range(200):
            assert not validate_order(EXAMPLE)
        count += 200
    return count / (time.perf_counter() - began)


def outbox_cpu_per_order(work: Path, group: int = 15, commits: int = 100) -> float:
    """CPU µs per order of `enqueue_many` alone, called directly in groups of `group` (user + system)."""
    with open_outbox(work / "direct.sqlite") as outbox:
        began = os.times()
        for commit in range(commits):
            orders = [{**EXAMPLE, "orderNumber": f"D-{commit}-{i}"} for i in range(group)]
            outbox.enqueue_many("bench", orders, actor="bench", now=datetime.now(UTC))
        ended = os.times()
    return (ended.user + ended.system - began.user - began.system) / (group * commits) * 1e6


def steady(work: Path, args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    server, outbox = start_server(work, "steady", {})
    try:
        paced_result = in_client_process(paced, server.base_url, "P", 100.0, args.seconds * 2)
        batch_result = in_client_process(batches, server.base_url, "B", args.batch_requests, 1000)
    finally:
        server.stop()
        outbox.close()
    assert set(paced_result["statuses"]) == {202}, paced_result["statuses"]
    assert set(batch_result["statuses"]) == {202}, batch_result["statuses"]
    return paced_result, batch_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-requests", type=int, default=10)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    runs: dict[str, list[Run]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-intake-", dir=Path(__file__).resolve().parent.parent) as tmp:
        work = Path(tmp)
        for round_ in range(args.rounds):
            for number, (name, settings) in enumerate(VARIANTS.items()):
                run = throughput(work, name, settings, args, f"R{round_}V{number}")
                runs[name].append(run)
                print(
                    f"  round {round_ + 1}  {name:<32} {run.rate:>7,.0f} orders/s  server CPU "
                    f"{run.cpu_per_order:>4.0f} µs/order  {run.orders_per_commit:>5.1f} orders/commit"
                )
        paced_result, batch_result = steady(work, args)
        outbox_cpu = outbox_cpu_per_order(work)
    validations = validation_rate()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    report(args, runs, paced_result, batch_result, outbox_cpu, validations)


def report(
    args: argparse.Namespace,
    runs: dict[str, list[Run]],
    paced_result: dict[str, Any],
    batch_result: dict[str, Any],
    outbox_cpu: float,
    validations: float,
) -> None:
    rate = {name: statistics.median(r.rate for r in found) for name, found in runs.items()}
    cpu = {name: statistics.median(r.cpu_per_order for r in found) for name, found in runs.items()}
    ceiling = rate["ceiling (parse, store nothing)"]
    latencies = sorted(paced_result["latencies"])
    p50, p99 = statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000
    batch_rate = sum(batch_result["statuses"].values()) / batch_result["seconds"]
    megabytes = batch_result["bytes_per_request"] / 1e6
    table: list[tuple[str, str, str, bool | None]] = []
    for name in runs:
        ratio = "" if rate[name] == ceiling else f" = {rate[name] / ceiling:.2f}"
        figure = f"{rate[name]:,.0f}/s{ratio}, server {cpu[name]:.0f} µs CPU each"
        shipped = name == "group commit"
        table.append(
            (f"single: {name}", figure, "≥ 0.70" if shipped else "", rate[name] / ceiling >= 0.7 if shipped else None)
        )
    table += [
        ("latency at 100 orders/s: p50", f"{p50:.1f} ms", "", None),
        ("latency at 100 orders/s: p99", f"{p99:.1f} ms ({len(latencies)} orders)", "< 50 ms", p99 < 50),
        ("batch, 1,000 a request", f"{batch_rate:,.0f}/s, {megabytes:.1f} MB each", "≥ 5,000", batch_rate >= 5e3),
        ("validate_order alone, one core", f"{1e6 / validations:.0f} µs CPU an order", "", None),
        ("enqueue_many alone, 15 a commit", f"{outbox_cpu:.0f} µs CPU an order", "", None),
    ]
    print(
        f"\nmedians of {args.rounds} rounds; {args.threads} client threads; {args.seconds:.0f} s a run; "
        f"rates in orders/s, ratios to the ceiling"
    )
    print(f"{'what':<42} {'figure':<48} {'target':<10} met")
    for what, figure, target, met in table:
        print(f"{what:<42} {figure:<48} {target:<10} {'' if met is None else ('yes' if met else 'NO')}")


if __name__ == "__main__":
    main()
