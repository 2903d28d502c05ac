"""Leases: one holder at a time, named when refused, freed the moment the holder dies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.common.leases import FileLease, Holder, LeaseHeldError, PostgresLease, held, held_together
from tests.conftest import require_outside

POSTGRES_DSN = os.environ.get("SONET_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _hold_in_child(code: str) -> subprocess.Popen:
    """Start a child that takes a lease, prints 'held', and sleeps until killed."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def _wait_until(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_file_lease_is_exclusive_and_names_its_holder(tmp_path):
    """A second taker is refused with the first holder's owner, pid and host in the error."""
    first, second = FileLease(tmp_path, "send-acme"), FileLease(tmp_path, "send-acme")
    with held(first, "run 1f3a"):
        assert not second.try_acquire("run 2b4c")
        holder = second.holder()
        assert holder is not None and holder.owner == "run 1f3a" and holder.pid == os.getpid()
        refused = pytest.raises(LeaseHeldError, match=r"held by run 1f3a \(pid \d+ on host")
        with refused, held(second, "run 2b4c", wait_seconds=1, clock=ManualClock()):
            pass
    assert second.holder() is None
    with held(second, "run 2b4c"):
        pass


def test_held_together_takes_all_or_none_and_names_one_still_held(tmp_path):
    """Several leases at once: none is kept while one is held elsewhere, and the refusal names it."""
    taken_elsewhere = FileLease(tmp_path, "store-b")
    wanted = [FileLease(tmp_path, "store-a"), FileLease(tmp_path, "store-b")]
    with held(taken_elsewhere, "sync run 1f3a"):
        with pytest.raises(LeaseHeldError) as refused, held_together(wanted, "sync run 2b4c", clock=ManualClock()):
            pass
        assert refused.value.name == "store-b" and refused.value.holder.owner == "sync run 1f3a"
        assert FileLease(tmp_path, "store-a").holder() is None  # not kept while waiting
    with held_together(wanted, "sync run 2b4c"):
        assert {FileLease(tmp_path, name).holder().owner for name in ("store-a", "store-b")} == {"sync run 2b4c"}
    assert FileLease(tmp_path, "store-a").holder() is None and FileLease(tmp_path, "store-b").holder() is None


def test_held_together_waits_for_a_lease_that_comes_free(tmp_path):
    """A holder that lets go while the caller waits: the caller gets every lease."""
    elsewhere = FileLease(tmp_path, "send-a")
    assert elsewhere.try_acquire("send run 1f3a")
    clock = ManualClock()
    clock.sleep = lambda seconds: elsewhere.release()  # type: ignore[method-assign]
    with held_together([FileLease(tmp_path, "send-a")], "send run 2b4c", wait_seconds=5, clock=clock) as leases:
        assert leases[0].holder().owner == "send run 2b4c"


def test_a_holder_is_here_only_for_its_owner_in_this_process():
    me = Holder(owner="sync run 1f3a", pid=os.getpid(), host=socket.gethostname(), since="2026-11-28T04:00:00Z")
    assert me.is_here("sync run 1f3a")
    assert not me.is_here("sync run 2b4c")
    assert Holder("sync run 1f3a", os.getpid(), socket.gethostname()[:5], me.since).is_here("sync run 1f3a")
    assert not Holder("sync run 1f3a", os.getpid() + 1, me.host, me.since).is_here("sync run 1f3a")
    assert not Holder("sync run 1f3a", os.getpid(), "elsewhere", me.since).is_here("sync run 1f3a")
    assert not Holder("", os.getpid(), me.host, me.since).is_here("sync run 1f3a")
    cut_short = Holder("sync run 1f", os.getpid(), me.host, me.since)  # PostgreSQL's application_name limit
    assert cut_short.is_here("sync run 1f3a")


def test_other_names_do_not_collide(tmp_path):
    """Leases of different flows or tenants are independent."""
    with held(FileLease(tmp_path, "send-acme"), "a"), held(FileLease(tmp_path, "send-nordic"), "b"):
        pass


def test_file_lease_of_a_killed_process_is_free_at_once(tmp_path):
    """SIGKILL of the holder frees the lease without any timeout (the OS drops the flock)."""
    child = _hold_in_child(
        f"""
        import time
        from pathlib import Path
        from sonet_pipeline.common.leases import FileLease
        lease = FileLease(Path({str(tmp_path)!r}), "sync")
        assert lease.try_acquire("child run")
        print("held", flush=True)
        time.sleep(600)
        """
    )
    lease = FileLease(tmp_path, "sync")
    assert lease.holder() is not None and lease.holder().pid == child.pid
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert lease.try_acquire("next run")
    lease.release()


@pytest.fixture
def postgres_dsn() -> str:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_DSN, connect_timeout=3):
            available = True
    except Exception:
        available = False
    require_outside(available, f"PostgreSQL is not reachable at {POSTGRES_DSN}")
    return POSTGRES_DSN


@pytest.mark.postgres
def test_postgres_lease_is_exclusive_and_names_its_holder(postgres_dsn):
    """Across processes and machines: one holder, named; free again after release."""
    first, second = PostgresLease(postgres_dsn, "test-send-acme"), PostgresLease(postgres_dsn, "test-send-acme")
    with held(first, "run 1f3a"):
        assert not second.try_acquire("run 2b4c")
        holder = second.holder()
        assert holder is not None and holder.owner == "run 1f3a" and holder.pid == os.getpid()
    assert second.holder() is None


@pytest.mark.postgres
def test_postgres_lease_of_a_killed_process_is_freed_by_the_server(postgres_dsn):
    """SIGKILL of the holder: the server ends its session and the lease comes free within seconds."""
    child = _hold_in_child(
        f"""
        import time
        from sonet_pipeline.common.leases import PostgresLease
        lease = PostgresLease({postgres_dsn!r}, "test-killed")
        assert lease.try_acquire("child run")
        print("held", flush=True)
        time.sleep(600)
        """
    )
    lease = PostgresLease(postgres_dsn, "test-killed")
    assert not lease.try_acquire("next run")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert _wait_until(lambda: lease.try_acquire("next run"))
    lease.release()
