"""What `capacity.py` measures with: the CPU of a process tree, the minute's change mix, the probes that
time a change from Sonet to the store and to the published shop file, and the instance's figures.

CPU: every 0.5 s the sampler reads `/proc/<pid>/stat` of each root (the daemon, the workers, the
stand-in), every descendant, and the PostgreSQL backends of the run's database (`pg_stat_activity`),
and keeps each process's newest user + system time. A process's CPU after its last sample (at most
0.5 s of wall time) is missed; nothing is counted twice (children's accumulated times are not read).
The machine's CPU (`/proc/stat`, every process on it, other work too) is kept beside it.

Freshness: after a tenant's changes of a minute, one more change renames its probe item (an ACTIVE,
web-visible item without variants) to a unique marker, through `/admin/.../changes`, which answers the
change's `dateModified`. A poller looks every second, for the probes not yet seen: in the store, the
item's row in the tenant's PostgreSQL schema with a `dateModified` at least the probe's; in the shop,
the marker in `<data dir>/published/<tenant>/catalogue.jsonl` (or a later probe's marker of the same
tenant, which supersedes it). Freshness is the moment seen minus `dateModified` (same machine clock).
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

_TICKS = os.sysconf("SC_CLK_TCK")


# --- CPU -------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, float] | None:
    """(ppid, starttime, user + system seconds) of `pid`, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return int(fields[1]), int(fields[19]), (int(fields[11]) + int(fields[12])) / _TICKS


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (`/proc/stat`: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / _TICKS


class CpuSampler:
    """The newest CPU seconds of every process in the trees of `roots()` and of `extra()` pids."""

    def __init__(self, roots: Callable[[], Sequence[int]], extra: Callable[[], Sequence[int]]) -> None:
        self.roots, self.extra = roots, extra
        self._seen: dict[tuple[int, int], float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def total(self) -> float:
        self.sample()
        with self._lock:
            return sum(self._seen.values())

    def sample(self) -> None:
        stats = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                found = _stat(int(entry.name))
                if found is not None:
                    stats[int(entry.name)] = found
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        wanted, stack = set(), [*self.roots(), *self.extra()]
        while stack:
            pid = stack.pop()
            if pid in stats and pid not in wanted:
                wanted.add(pid)
                stack.extend(children.get(pid, []))
        with self._lock:
            for pid in wanted:
                _, started, seconds = stats[pid]
                self._seen[(pid, started)] = seconds

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()


def backend_pids(dsn: str, database: str) -> list[int]:
    """The PostgreSQL server processes serving `database` now."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]).fetchall()
    return [pid for (pid,) in rows]


# --- the change mix ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """A tenant's changes in a minute: `count` random changes at `offset` seconds into the minute."""

    company: str
    count: int
    offset: float
    burst: bool


def minute_plan(
    companies: Sequence[str], rng: random.Random, *, active_share: float, burst_share: float, burst: int
) -> list[Batch]:
    """Most companies idle; `active_share` of them 10-100 changes; `burst_share` of them (at least one
    when the share is above 0) a burst of `burst`; each at a random moment of the first 55 s."""
    bursts = set(rng.sample(list(companies), min(len(companies), max(1, round(len(companies) * burst_share)))))
    if burst_share <= 0:
        bursts = set()
    plan = []
    for code in companies:
        if code in bursts:
            plan.append(Batch(code, burst, rng.uniform(0, 55), True))
        elif rng.random() < active_share:
            plan.append(Batch(code, rng.randint(10, 100), rng.uniform(0, 55), False))
    return sorted(plan, key=lambda b: b.offset)


# --- the probes ----------------------------------------------------------------------------------------


@dataclass
class Probe:
    tenant: str
    item_code: str
    marker: str
    modified: datetime
    seq: int
    store_seen: float | None = None
    shop_seen: float | None = None

    def lag(self, seen: float | None) -> float | None:
        return None if seen is None else seen - self.modified.timestamp()


@dataclass
class ProbeTracker:
    """Looks every second for the probes not yet in the store or in the published catalogue."""

    dsn: str
    published: Path
    probes: list[Probe] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    #: tenant -> the catalogue's mtime when last read
    _read: dict[str, int] = field(default_factory=dict)

    def add(self, probe: Probe) -> None:
        with self._lock:
            self.probes.append(probe)

    def pending(self) -> int:
        with self._lock:
            return sum(1 for p in self.probes if p.store_seen is None or p.shop_seen is None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            while not self._stop.wait(1.0):
                self.poll(connection)

    def poll(self, connection: psycopg.Connection) -> None:
        with self._lock:
            open_probes = [p for p in self.probes if p.store_seen is None or p.shop_seen is None]
        by_tenant: dict[str, list[Probe]] = {}
        for probe in open_probes:
            by_tenant.setdefault(probe.tenant, []).append(probe)
        for tenant, probes in by_tenant.items():
            now = time.time()
            waiting = [p for p in probes if p.store_seen is None]
            if waiting:
                stored = _stored_modified(connection, tenant, waiting[0].item_code)
                for probe in waiting:
                    if stored is not None and stored >= probe.modified:
                        probe.store_seen = now
            waiting = [p for p in probes if p.shop_seen is None]
            if waiting:
                self._look_in_shop(tenant, waiting, now)

    def _look_in_shop(self, tenant: str, waiting: list[Probe], now: float) -> None:
        path = self.published / tenant / "catalogue.jsonl"
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return
        if self._read.get(tenant) == mtime:  # read already as it is now: nothing new in it
            return
        try:
            text = path.read_bytes()
        except OSError:
            return
        self._read[tenant] = mtime
        with self._lock:
            markers = [(p.seq, p.marker) for p in self.probes if p.tenant == tenant]
        newest = max((seq for seq, marker in markers if marker.encode() in text), default=None)
        for probe in waiting:
            if newest is not None and probe.seq <= newest:
                probe.shop_seen = now


def _stored_modified(connection: psycopg.Connection, tenant: str, item_code: str) -> datetime | None:
    query = sql.SQL('SELECT "dateModified" FROM {}.items WHERE "itemCode" = %s').format(
        sql.Identifier(f"sonet_store_{tenant}")
    )
    try:
        row = connection.execute(query, [item_code]).fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return None if row is None else row[0]


def percentiles(values: Sequence[float], missing: int) -> str:
    """p50 / p95 / max, with the samples never seen counted as longer than any seen (then `>`)."""
    if not values and not missing:
        return "-"
    ranked = sorted(values) + [float("inf")] * missing

    def at(share: float) -> str:
        value = ranked[min(len(ranked) - 1, int(share * (len(ranked) - 1) + 0.5))]
        return f">{max(values, default=0):.0f}" if value == float("inf") else f"{value:.0f}"

    top = f">{max(values, default=0):.0f}" if missing else f"{max(values):.0f}"
    return f"{at(0.5)} / {at(0.95)} / {top}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0
