"""What the benchmarks share: a stand-in in its own process on a free port, a tenants file, a work dir.

    with running_standin({"01": "bench-token-01"}, items=100_000, unthrottled=True) as sonet:
        env = bench_env(work) | write_tenants(work / "tenants.yaml", sonet, [BenchTenant("bench", "01")])

`run_child` runs a command (e.g. `sonet-pipeline sync`) and answers its wall time, CPU and peak RSS
(`wait4`); `run_timings` reads a sync run's step and per-entity times from its event log.

The stand-in is started as `sonet-pipeline standin` (the same command an operator runs) in a session of
its own with SIGINT at its default, and stopped with SIGINT (Ctrl-C), SIGKILL if it does not go.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

CLI = Path(sys.executable).with_name("sonet-pipeline")
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningStandin:
    process: subprocess.Popen[bytes]
    base_url: str
    #: company code -> its token
    companies: dict[str, str]
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call an admin endpoint (`path` after `/admin`), answer its JSON; raise on an error status."""
        answer = self._session.request(method, f"{self.base_url}/admin{path}", json=body, timeout=120)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        self._session.close()
        stop_process(self.process)


def start_standin(
    companies: Mapping[str, str],
    *,
    items: int,
    unthrottled: bool = False,
    extra: Sequence[str] = (),
    timeout_seconds: float = 300,
    port: int | None = None,
) -> RunningStandin:
    """A stand-in serving `companies` (code -> token), `items` items each, once it answers /health.

    `port`: where to listen (default: a free one); a restart passes the port it had.
    """
    port = port or free_port()
    command = [str(CLI), "standin", "--items", str(items), "--port", str(port), *extra]
    if unthrottled:
        command.append("--unthrottled")
    for code, token in companies.items():
        command += ["--company", f"{code}={token}"]
    # A fresh session, and SIGINT at its default, so that the stand-in stops on SIGINT like on Ctrl-C.
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the stand-in exited with {process.returncode}")
        try:
            if requests.get(f"{base_url}/health", timeout=1).ok:
                return RunningStandin(process, base_url, dict(companies))
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    stop_process(process)
    raise SystemExit(f"the stand-in did not answer /health within {timeout_seconds:.0f} s")


@contextmanager
def running_standin(companies: Mapping[str, str], **options: Any) -> Iterator[RunningStandin]:
    sonet = start_standin(companies, **options)
    try:
        yield sonet
    finally:
        sonet.stop()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class BenchTenant:
    name: str
    company: str
    #: requests/s, burst, in flight: the client's throttle (the tenants file's `query_limits`)
    limits: tuple[float, int, int] = (5, 10, 4)

    @property
    def token_env(self) -> str:
        return f"BENCH_{self.name.upper()}_TOKEN"


def write_tenants(path: Path, sonet: RunningStandin, tenants: Sequence[BenchTenant]) -> dict[str, str]:
    """Write the tenants file; answer the environment that points at it and holds the tokens."""
    lines = ["tenants:"]
    for tenant in tenants:
        rate, burst, in_flight = tenant.limits
        lines += [
            f"  - name: {tenant.name}",
            f"    sonet: {{base_url: '{sonet.base_url}', company: '{tenant.company}', token_env: {tenant.token_env},",
            f"            query_limits: {{rate: {rate}, burst: {burst}, in_flight: {in_flight}}}}}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"SONET_PIPELINE_TENANTS": str(path)}
    env.update({t.token_env: sonet.companies[t.company] for t in tenants})
    return env


def bench_env(work: Path) -> dict[str, str]:
    """A data dir and DAGSTER_HOME under `work`, nothing shared with the developer's own `.data`."""
    return {"SONET_PIPELINE_DATA_DIR": str(work / "data"), "DAGSTER_HOME": str(work / "data" / "dagster")}


def prepare_instance_in_subprocess(env: Mapping[str, str]) -> None:
    """Create the instance's storage once, as the first command on a new machine does."""
    code = "from sonet_pipeline.jobs.cli_runs import prepare_instance; prepare_instance()"
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True, cwd=REPO)


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    wall_seconds: float
    #: user + system CPU of the child (its own threads; its children are not waited for separately)
    cpu_seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def run_child(command: Sequence[str], env: Mapping[str, str], cwd: Path = REPO) -> ChildRun:
    """Run `command` to its end; its wall time, CPU and peak RSS from `wait4` (this child alone)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), env={**os.environ, **env}, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    # Not communicate(): it would reap the child, and wait4 could no longer tell its rusage.
    out, err = _drain(process)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        returncode=process.returncode,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        stdout=out,
        stderr=err,
    )


def _drain(process: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Both pipes read to their end (EOF when the child exits), without reaping the child."""
    assert process.stdout is not None and process.stderr is not None
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as selector:
        selector.register(out_fd, selectors.EVENT_READ)
        selector.register(err_fd, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
    process.stdout.close()
    process.stderr.close()
    return tuple(b"".join(chunks[fd]).decode("utf-8", "replace") for fd in (out_fd, err_fd))  # type: ignore[return-value]


@dataclass
class RunTimings:
    """One sync run's times from its event log (timestamps written by the process that ran it)."""

    run_start: float
    run_end: float
    #: the tenant's sync step, STEP_START to STEP_SUCCESS
    step_seconds: float
    #: entity -> seconds from its "reading" log line to its materialization
    phases: dict[str, float]


def run_timings(dagster_home: str, run_id: str, tenant: str) -> RunTimings:
    """Read the run's event log from the instance at `dagster_home`."""
    from dagster import DagsterEventType, DagsterInstance

    from sonet_pipeline.assets.inbound import sync_op_name
    from sonet_pipeline.sonet.entities import SYNCED

    names = ("RUN_START", "RUN_SUCCESS", "RUN_FAILURE", "STEP_START", "STEP_SUCCESS", "STEP_FAILURE")
    stamped = {getattr(DagsterEventType, name) for name in names}
    instance = DagsterInstance.from_config(dagster_home)
    try:
        events = instance.all_logs(run_id)
    finally:
        instance.dispose()
    sync_step = sync_op_name(tenant)
    stamps: dict[str, float] = {}
    reading: dict[str, float] = {}
    materialized: dict[str, float] = {}
    for event in events:
        dagster_event = event.dagster_event
        if dagster_event is None:
            for name in SYNCED:
                if event.user_message.startswith(f"{tenant} {name}: reading"):
                    reading[name] = event.timestamp
            continue
        kind = dagster_event.event_type
        if kind in stamped and dagster_event.step_key in (None, sync_step):
            stamps[kind.name] = event.timestamp
        elif kind == DagsterEventType.ASSET_MATERIALIZATION and dagster_event.asset_key is not None:
            path = dagster_event.asset_key.path
            if path[0] == tenant:
                materialized[path[-1]] = event.timestamp
    end = stamps.get("STEP_SUCCESS", stamps.get("STEP_FAILURE", 0.0))
    both = reading.keys() & materialized.keys()
    return RunTimings(
        run_start=stamps["RUN_START"],
        run_end=stamps.get("RUN_SUCCESS", stamps.get("RUN_FAILURE", 0.0)),
        step_seconds=end - stamps["STEP_START"],
        phases={name: materialized[name] - reading[name] for name in SYNCED if name in both},
    )


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        rest = zip(row[1:], widths[1:], strict=True)
        cells = [f"{row[0]!s:<{widths[0]}}", *(f"{cell!s:>{width}}" for cell, width in rest)]
        print("  ".join(cells).rstrip())
