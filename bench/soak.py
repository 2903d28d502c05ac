"""The soak: web orders over HTTP through intake, outbox and sender into a faulty Sonet, each exactly once.

Everything runs as an operator runs it, each in its own process: the stand-in (`sonet-pipeline standin`
with a state file, so a restart keeps its orders), the intake (`sonet-pipeline intake`) and, back to
back, send runs (`sonet-pipeline send --tenant soak`, each a Dagster run against one SQLite instance).
The stand-in answers 5 % of requests 503 and loses 2 % of the message answers (it processes the order
and never answers). One tenant is synced first, so the shop's rights and the items are known.

While the orders are posted (8 threads, one keep-alive connection each) and sent, faults are injected
at points of progress, so the run has the same shape on a fast or slow machine:

| when (accepted by Sonet) | fault |
| --- | --- |
| 10 % | SIGKILL of the running send process group (a lost machine) |
| 30 % | a maintenance window of `--maintenance-seconds` (every request answered 503 + Retry-After) |
| 50 % | SIGKILL of the running send process group again |
| 70 % | the stand-in stopped and started again on the same port (its journal replayed) |

After each SIGKILL the figure is the stall: seconds from the next send run's start until Sonet accepts
the next order. When the outbox is drained (nothing `pending` or `sending`), `sonet-pipeline outbox
reconcile` must exit 0 (the outbox and Sonet's list agree) and Sonet's own list of accepted orders must
hold every posted order number exactly once. Exit 0 when all of that holds, 1 otherwise.

    .venv/bin/python bench/soak.py [--orders 10000] [--rate 50] [--maintenance-seconds 120]

`--rate` is the Message API's limit on both sides (the stand-in's and the tenant's `message_limits`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _standin import CLI, REPO, RunningStandin, bench_env, free_port, prepare_instance_in_subprocess, start_standin

from sonet_pipeline.contract import read_text

TENANT, COMPANY = "soak", "01"
SONET_TOKEN, INTAKE_TOKEN = "soak-sonet-token", "soak-intake-token"
EXAMPLE: dict[str, Any] = json.loads(read_text("examples/commerce-order-b2b.json"))
_HEAD, _TAIL = json.dumps(EXAMPLE, separators=(",", ":")).encode().split(EXAMPLE["orderNumber"].encode())
POST_THREADS = 8
#: (share of the orders accepted, fault)
SENT_TOTALS = ("claimed", "sent", "duplicate", "retried", "without_answer", "throttled_429", "failed")
FAULTS = ((0.10, "kill"), (0.30, "maintenance"), (0.50, "kill"), (0.70, "restart"))


def order_number(n: int) -> str:
    return f"SOAK-{n:06d}"


@dataclass
class Figures:
    posted: Counter[int] = field(default_factory=Counter)
    post_seconds: float = 0.0
    send_runs: int = 0
    send_exit_codes: Counter[int] = field(default_factory=Counter)
    sent_totals: Counter[str] = field(default_factory=Counter)
    #: why send runs failed (exit 1), each reason with its count
    send_failures: Counter[str] = field(default_factory=Counter)
    stalls: list[float] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    #: answers by status and lost answers, summed over the stand-in's lives (its counters restart with it)
    answers: Counter[str] = field(default_factory=Counter)
    lost_answers: int = 0


class Soak:
    def __init__(self, work: Path, orders: int, rate: float, maintenance_seconds: float) -> None:
        self.work, self.orders, self.rate, self.maintenance_seconds = work, orders, rate, maintenance_seconds
        self.port = free_port()
        self.standin_options = [
            "--state-file", str(work / "standin.journal"),
            "--message-rate", str(rate), "--message-burst", str(max(1, int(rate))), "--message-in-flight", "4",
            "--unavailable-share", "0.05", "--lost-answer-share", "0.02", "--late-share", "0",
        ]  # fmt: skip
        self.sonet: RunningStandin = self._start_standin()
        self.intake_port = free_port()
        self.env = {**os.environ, **bench_env(work), **self._tenants_env()}
        self.figures = Figures()
        self.sender: subprocess.Popen[bytes] | None = None
        self.sender_started = 0.0
        self.sender_lock = threading.Lock()
        self.stop_sending = threading.Event()
        self.baseline = 0

    # -- the processes --------------------------------------------------------------------------

    def _start_standin(self) -> RunningStandin:
        return start_standin({COMPANY: SONET_TOKEN}, items=2000, extra=self.standin_options, port=self.port)

    def _tenants_env(self) -> dict[str, str]:
        rate, burst = self.rate, max(1, int(self.rate))
        (self.work / "tenants.yaml").write_text(
            "tenants:\n"
            f"  - name: {TENANT}\n"
            f"    sonet: {{base_url: '{self.sonet.base_url}', company: '{COMPANY}', token_env: SOAK_SONET_TOKEN,\n"
            f"            message_limits: {{rate: {rate}, burst: {burst}, in_flight: 4}}}}\n"
            "    intake_token_env: SOAK_INTAKE_TOKEN\n"
            "    send_every_seconds: 10\n",
            encoding="utf-8",
        )
        return {
            "SONET_PIPELINE_TENANTS": str(self.work / "tenants.yaml"),
            "SOAK_SONET_TOKEN": SONET_TOKEN,
            "SOAK_INTAKE_TOKEN": INTAKE_TOKEN,
        }

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(CLI), *args], env=self.env, cwd=REPO, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise SystemExit(f"`sonet-pipeline {' '.join(args)}` exited {done.returncode}: {done.stderr[-2000:]}")
        return done

    def accepted(self) -> int:
        """Sales orders Sonet holds beyond those it was seeded with (its state survives restarts)."""
        for _ in range(100):
            try:
                return int(self.sonet.admin("GET", "/companies")[COMPANY]["salesOrders"]) - self.baseline
            except Exception:  # the stand-in is restarting
                time.sleep(0.2)
        raise SystemExit("the stand-in did not answer for 20 s")

    def outbox_status(self) -> dict[str, Any]:
        return dict(json.loads(self.cli("outbox", "status", "--json").stdout)["tenants"].get(TENANT, {}))

    # -- posting and sending ----------------------------------------------------------------------

    def post_all(self) -> None:
        began, lock = time.perf_counter(), threading.Lock()

        def run(thread: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.intake_port, timeout=60)
            headers = {"Authorization": f"Bearer {INTAKE_TOKEN}", "Content-Type": "application/json"}
            for n in range(thread, self.orders, POST_THREADS):
                body = _HEAD + order_number(n).encode() + _TAIL
                connection.request("POST", f"/tenants/{TENANT}/orders", body, headers)
                answer = connection.getresponse()
                answer.read()
                with lock:
                    self.figures.posted[answer.status] += 1

        threads = [threading.Thread(target=run, args=(t,)) for t in range(POST_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.figures.post_seconds = time.perf_counter() - began

    def send_loop(self) -> None:
        """Send runs back to back, as the order sensor would start them, until told to stop."""
        while not self.stop_sending.is_set():
            with self.sender_lock:
                self.sender = subprocess.Popen(
                    [str(CLI), "send", "--tenant", TENANT, "--json"],
                    env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                )  # fmt: skip
                self.sender_started = time.monotonic()
            out, err = self.sender.communicate()
            self.figures.send_runs += 1
            self.figures.send_exit_codes[self.sender.returncode] += 1
            if self.sender.returncode > 0:
                failures = json.loads(out)["failures"] if out.strip() else [err.decode()[-300:]]
                self.figures.send_failures.update(failure[:160] for failure in failures)
            for figures in json.loads(out or "{}").get("tenants", {}).get(TENANT, {}).values():
                self.figures.sent_totals.update({k: v for k, v in figures.items() if k in SENT_TOTALS})

    def kill_sender(self) -> None:
        """SIGKILL the running send's whole process group; answer the stall after the next run starts."""
        with self.sender_lock:
            assert self.sender is not None
            os.killpg(self.sender.pid, signal.SIGKILL)
            killed = time.monotonic()
        while self.sender_started <= killed:
            time.sleep(0.05)
        next_start, before = self.sender_started, self.accepted()
        deadline = next_start + 300
        while self.accepted() == before and time.monotonic() < deadline:
            time.sleep(0.1)
        self.figures.stalls.append(time.monotonic() - next_start)

    def restart_standin(self) -> None:
        self._count_answers()
        self.sonet.stop()
        self.sonet = self._start_standin()

    def _count_answers(self) -> None:
        counters = self.sonet.admin("GET", f"/companies/{COMPANY}/counters")
        self.figures.answers.update(counters["responses"].get("message", {}))
        self.figures.lost_answers += int(counters["lost_answers"])

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> bool:
        print(f"soak: {self.orders:,} orders at {self.rate:g}/s, work dir {self.work}", file=sys.stderr)
        prepare_instance_in_subprocess(self.env)
        self.baseline = self.accepted()
        self.cli("sync", "--tenant", TENANT)
        intake = subprocess.Popen(
            [str(CLI), "intake", "--port", str(self.intake_port)],
            env=self.env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            _wait_for_port(self.intake_port)
            return self._drive()
        finally:
            self.stop_sending.set()
            intake.send_signal(signal.SIGINT)
            intake.wait(timeout=30)
            self.sonet.stop()

    def _drive(self) -> bool:
        began = time.monotonic()
        poster = threading.Thread(target=self.post_all)
        sender = threading.Thread(target=self.send_loop)
        poster.start()
        sender.start()
        for share, fault in FAULTS:
            while self.accepted() < share * self.orders:
                time.sleep(0.2)
            at = time.monotonic() - began
            if fault == "kill":
                self.kill_sender()
            elif fault == "maintenance":
                self.sonet.admin("POST", "/maintenance", {"seconds": self.maintenance_seconds})
            else:
                self.restart_standin()
            self.figures.faults.append(f"{fault} at {at:.0f} s ({self.accepted():,} accepted)")
        poster.join()
        while True:
            status = self.outbox_status()
            if not status.get("pending") and not status.get("sending"):
                break
            time.sleep(2)
        drained = time.monotonic() - began
        self.stop_sending.set()
        sender.join()
        self._count_answers()
        return self._verify(drained, self.outbox_status())

    def _verify(self, drained: float, status: dict[str, Any]) -> bool:
        reconcile_deadline = time.monotonic() + 180
        reconcile = self.cli("outbox", "reconcile", "--tenant", TENANT, check=False)
        while reconcile.returncode != 0 and time.monotonic() < reconcile_deadline:
            time.sleep(5)  # Sonet's list lags its answers (the contract's visibility lag)
            reconcile = self.cli("outbox", "reconcile", "--tenant", TENANT, check=False)
        orders = self.sonet.admin("GET", f"/companies/{COMPANY}/orders")
        in_sonet = Counter(o["webOrderNumber"] for o in orders if str(o["webOrderNumber"]).startswith("SOAK-"))
        missing = [order_number(n) for n in range(self.orders) if order_number(n) not in in_sonet]
        doubled = sorted(number for number, count in in_sonet.items() if count > 1)
        f = self.figures
        rows = [
            ("orders posted over HTTP", f"{sum(f.posted.values()):,}", _statuses(f.posted)),
            ("posting, s / orders/s", f"{f.post_seconds:.1f}", f"{self.orders / f.post_seconds:,.0f}/s"),
            ("faults", str(len(f.faults)), "; ".join(f.faults)),
            ("stall after each SIGKILL, s", ", ".join(f"{s:.1f}" for s in f.stalls), "next run's start -> next accept"),
            ("send runs (exit codes)", str(f.send_runs), _statuses(f.send_exit_codes)),
            *(("  a run failed", str(n), why) for why, n in f.send_failures.most_common(5)),
            ("Sonet's message answers", f"{sum(f.answers.values()):,}", _statuses(f.answers)),
            ("lost answers (Sonet processed, never answered)", str(f.lost_answers), ""),
            ("send runs' totals", "", ", ".join(f"{k} {v}" for k, v in sorted(f.sent_totals.items()) if v)),
            ("time to drain, s", f"{drained:.0f}", f"{self.orders / drained:.1f} orders/s over the whole soak"),
            ("outbox at the end", "", json.dumps(status)),
            ("outbox reconcile exit code", str(reconcile.returncode), reconcile.stdout.strip()[:300]),
            ("in Sonet once / missing / doubled", f"{len(in_sonet) - len(doubled):,}",
             f"{len(missing)} / {len(doubled)}"),
        ]  # fmt: skip
        for what, figure, detail in rows:
            print(f"{what:<48} {figure:>12}  {detail}")
        ok = (
            reconcile.returncode == 0
            and not missing
            and not doubled
            and status.get("sent") == self.orders
            and not status.get("sending")
            and not status.get("failed")
        )
        print("exactly once: " + ("yes" if ok else "NO"))
        return ok


def _statuses(counts: Counter[Any]) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))


def _wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/openapi.json")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the intake did not answer on port {port} within {seconds:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="the Message API limit, requests/s")
    parser.add_argument("--maintenance-seconds", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as work:
        return 0 if Soak(Path(work), args.orders, args.rate, args.maintenance_seconds).run() else 1


if __name__ == "__main__":
    sys.exit(main())
