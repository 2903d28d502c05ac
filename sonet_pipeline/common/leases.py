"""Leases: "one run at a time" for a flow (the sync's store writer, a tenant's sender), dying with their holder.

A lease is held by a live process and released by the operating system or the database the moment
that process dies, even by SIGKILL, so a killed run never blocks the next one for longer than it
takes to notice (at once on one machine; the TCP keepalive below, ~25 s, for a lost machine).

- `FileLease`: an `flock` on a file under the data dir. One machine: the embedded default.
- `PostgresLease`: a session-level advisory lock on a dedicated connection. Several machines.

Both say who holds them (owner, pid, host, since), so an operator reads "held by run 1f3a… (pid 812
on host a) since 04:38:00Z" instead of a bare timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol, cast

from sonet_pipeline.common.clock import Clock, SystemClock


@dataclass(frozen=True)
class Holder:
    owner: str
    pid: int
    host: str
    since: str

    def describe(self) -> str:
        return f"{self.owner} (pid {self.pid} on host {self.host}) since {self.since}"

    def is_here(self, owner: str) -> bool:
        """Whether this holder is `owner` in this very process: a CLI that took a tenant's lease for the
        run it then executes in its own process. (PostgreSQL keeps an owner cut short: its start matches.)"""
        return (
            self.pid == os.getpid()
            and bool(self.host)
            and socket.gethostname().startswith(self.host)
            and bool(self.owner)
            and owner.startswith(self.owner)
        )


class LeaseHeldError(RuntimeError):
    """The lease is held by someone else (named in the message) and did not come free in time."""

    def __init__(self, name: str, holder: Holder | None, waited: float) -> None:
        who = holder.describe() if holder else "another process"
        super().__init__(f"lease {name!r} is held by {who}; waited {waited:.0f} s")
        self.name, self.holder, self.waited = name, holder, waited


class Lease(Protocol):
    name: str

    def try_acquire(self, owner: str) -> bool: ...

    def release(self) -> None: ...

    def holder(self) -> Holder | None: ...


def _me(owner: str) -> Holder:
    since = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Holder(owner=owner, pid=os.getpid(), host=socket.gethostname(), since=since)


@contextlib.contextmanager
def held(
    lease: Lease, owner: str, *, wait_seconds: float = 0.0, poll_seconds: float = 0.25, clock: Clock | None = None
) -> Iterator[Lease]:
    """Hold `lease` for the block, waiting up to `wait_seconds` for it; else `LeaseHeldError`."""
    with held_together([lease], owner, wait_seconds=wait_seconds, poll_seconds=poll_seconds, clock=clock):
        yield lease


@contextlib.contextmanager
def held_together(
    leases: Sequence[Lease],
    owner: str,
    *,
    wait_seconds: float = 0.0,
    poll_seconds: float = 0.25,
    clock: Clock | None = None,
) -> Iterator[Sequence[Lease]]:
    """Hold every one of `leases` for the block, waiting up to `wait_seconds` until all are free at once;
    else `LeaseHeldError` naming one still held. Nothing is held while waiting (all are released when one
    is taken), so two callers wanting overlapping sets never hold each other up."""
    clock = clock or SystemClock()
    ordered = sorted(leases, key=lambda lease: lease.name)
    deadline = clock.monotonic() + wait_seconds
    while True:
        taken: list[Lease] = []
        busy: Lease | None = None
        for lease in ordered:
            if not lease.try_acquire(owner):
                busy = lease
                break
            taken.append(lease)
        if busy is None:
            break
        for lease in taken:
            lease.release()
        left = deadline - clock.monotonic()
        if left <= 0:
            raise LeaseHeldError(busy.name, busy.holder(), wait_seconds)
        clock.sleep(min(poll_seconds, left))
    try:
        yield ordered
    finally:
        for lease in reversed(ordered):
            lease.release()


class FileLease:
    """An exclusive `flock` on `<directory>/<name>.lock`; the file's text names the holder."""

    def __init__(self, directory: Path, name: str) -> None:
        self.name = name
        self.path = Path(directory) / f"{name}.lock"
        self._file: IO[str] | None = None

    def try_acquire(self, owner: str) -> bool:
        if self._file is not None:
            raise RuntimeError(f"lease {self.name!r} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while leased
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(asdict(_me(owner))))
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def holder(self) -> Holder | None:
        """Who holds the lease now, or None when it is free."""
        if not self.path.exists():
            return None
        with open(self.path, encoding="utf-8") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return _parse_holder(probe.read())
            fcntl.flock(probe, fcntl.LOCK_UN)
            return None


class PostgresLease:
    """A session advisory lock on a connection of its own; the holder is named in `application_name`.

    The server drops a dead client's session, and its lock, when TCP says the client is gone: at once
    for a killed process, after about 25 s of keepalives for a machine that vanished.
    """

    def __init__(self, dsn: str, name: str) -> None:
        self.name = name
        self.dsn = dsn
        self.key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        self._conn: Any = None

    def try_acquire(self, owner: str) -> bool:
        import psycopg

        if self._conn is not None:
            raise RuntimeError(f"lease {self.name!r} is already held by this object")
        me = _me(owner)
        conn = psycopg.connect(
            self.dsn,
            autocommit=True,
            application_name=f"sonet-lease {me.pid} {me.host[:20]} {owner}"[:63],
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        for setting in ("tcp_keepalives_idle = 10", "tcp_keepalives_interval = 5", "tcp_keepalives_count = 3"):
            conn.execute(f"SET {setting}")
        # one row, always: the SELECT has no FROM
        (acquired,) = cast("tuple[bool]", conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone())
        if not acquired:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._conn.close()
            self._conn = None

    def holder(self) -> Holder | None:
        import psycopg

        classid, objid = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT a.application_name, a.pid, coalesce(host(a.client_addr), 'local'), a.backend_start "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::bigint::oid "
                "AND l.objid = %s::bigint::oid AND l.objsubid = 1",
                (classid, objid),
            ).fetchone()
        if row is None:
            return None
        application, backend_pid, client, started = row
        since = started.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        parts = application.split(" ", 3)
        if len(parts) == 4 and parts[0] == "sonet-lease" and parts[1].isdigit():
            return Holder(owner=parts[3], pid=int(parts[1]), host=parts[2], since=since)
        return Holder(owner=application or "unknown", pid=backend_pid, host=client, since=since)


def open_lease(name: str, *, postgres_dsn: str | None, locks_dir: Path) -> Lease:
    """Lease `name`: an advisory lock in PostgreSQL when a DSN is given (several machines), else a file
    lease under `locks_dir` (one machine)."""
    return PostgresLease(postgres_dsn, name) if postgres_dsn else FileLease(locks_dir, name)


def _parse_holder(text: str) -> Holder | None:
    try:
        return Holder(**json.loads(text))
    except (ValueError, TypeError):
        return None
