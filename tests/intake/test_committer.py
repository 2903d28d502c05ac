"""Group commit: concurrent requests share one outbox transaction, and one bad order spoils no other."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sonet_pipeline.intake.committer import CommitterStopped, GroupCommitter
from sonet_pipeline.intake.server import RunningIntake
from sonet_pipeline.outbox import Enqueued, State
from tests.intake.conftest import TENANTS, TOKENS, Client, order


class _RecordingOutbox:
    """Answers every order as new; records each `enqueue_many` call; refuses a group holding `poison`."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.delay = delay
        self.threads: set[str] = set()

    def enqueue_many(self, tenant: str, orders: list[dict[str, Any]], *, actor: str, now: Any) -> list[Enqueued]:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        numbers = [o["orderNumber"] for o in orders]
        if "poison" in numbers:
            raise ValueError("this order breaks the store")
        self.calls.append((tenant, numbers))
        return [Enqueued(f"id-{n}", State.PENDING, True) for n in numbers]


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_orders_submitted_together_share_one_commit_and_each_gets_its_own_answer():
    """Jobs queued while the writer is busy go in one `enqueue_many` per tenant; answers are split
    back per job, in order; the outbox is used from one writer thread only."""
    outbox = _RecordingOutbox()

    async def scenario() -> list[list[Enqueued]]:
        committer = GroupCommitter(outbox, actor="test")  # type: ignore[arg-type]
        await committer.start()
        jobs = [committer.submit("acme", [{"orderNumber": f"A{i}"}, {"orderNumber": f"B{i}"}]) for i in range(5)]
        jobs.append(committer.submit("beta", [{"orderNumber": "C"}]))
        answers = await asyncio.gather(*jobs)
        await committer.stop()
        assert (committer.commits, committer.committed_orders) == (2, 11)
        return answers

    answers = _run(scenario())
    assert [[a.message_id for a in answer] for answer in answers[:2]] == [["id-A0", "id-B0"], ["id-A1", "id-B1"]]
    assert outbox.calls == [("acme", [n for i in range(5) for n in (f"A{i}", f"B{i}")]), ("beta", ["C"])]
    assert len(outbox.threads) == 1


def test_a_group_that_fails_is_retried_job_by_job_so_only_the_bad_one_fails():
    """If a grouped commit raises, each job is retried alone: the others are stored, the bad one
    gets the error."""
    outbox = _RecordingOutbox()

    async def scenario() -> list[Any]:
        committer = GroupCommitter(outbox, actor="test")  # type: ignore[arg-type]
        await committer.start()
        numbers = ["ok1", "poison", "ok2"]
        answers = await asyncio.gather(
            *(committer.submit("acme", [{"orderNumber": n}]) for n in numbers), return_exceptions=True
        )
        await committer.stop()
        return answers

    first, bad, last = _run(scenario())
    assert first[0].message_id == "id-ok1" and last[0].message_id == "id-ok2"
    assert isinstance(bad, ValueError)


def test_submit_before_start_or_after_stop_refuses():
    """A stopped writer refuses work at once (the route maps it to 503) rather than leaving it waiting."""
    committer = GroupCommitter(_RecordingOutbox(), actor="test")  # type: ignore[arg-type]
    with pytest.raises(CommitterStopped):
        _run(committer.submit("acme", [{"orderNumber": "x"}]))


def test_concurrent_single_orders_over_http_are_committed_in_groups(seed_rights):
    """Concurrent single-order requests to a slow store are answered 202 each, with fewer commits
    than orders: requests arriving during a commit join the next one."""
    outbox = _RecordingOutbox(delay=0.05)
    with RunningIntake(TENANTS, outbox, token_lookup=TOKENS.get, rights=seed_rights) as running:  # type: ignore[arg-type]
        clients = [Client(running.base_url) for _ in range(16)]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda c: c.post("/orders", order()), clients))
    assert [a.status_code for a in answers] == [202] * 16
    assert running.committer.committed_orders == 16
    assert running.committer.commits < 16


def test_a_failing_store_fails_the_rest_of_a_group_at_once():
    """When the store itself fails (two single retries in a row fail), the remaining jobs get the
    error at once rather than each waiting for its own failing attempt."""
    outbox = _RecordingOutbox()
    attempts: list[int] = []

    def down(tenant: str, orders: list[dict[str, Any]], **kwargs: Any) -> list[Enqueued]:
        attempts.append(len(orders))
        raise OSError("disk gone")

    outbox.enqueue_many = down  # type: ignore[method-assign]

    async def scenario() -> list[Any]:
        committer = GroupCommitter(outbox, actor="test")  # type: ignore[arg-type]
        await committer.start()
        jobs = [committer.submit("acme", [{"orderNumber": f"N{i}"}]) for i in range(10)]
        answers = await asyncio.gather(*jobs, return_exceptions=True)
        await committer.stop()
        return answers

    answers = _run(scenario())
    assert all(isinstance(answer, OSError) for answer in answers)
    assert attempts == [10, 1, 1]
