"""Group commit: requests that arrive together are stored with one outbox transaction.

Every request hands its orders to `GroupCommitter.submit` and waits. One writer task takes the first
waiting job, adds every other job already queued (those that arrived while the previous commit was
running, so a burst forms its own groups without a timer), optionally lingers a few milliseconds for
more, and calls `outbox.enqueue_many` once per tenant in the group, in one dedicated thread (the
outbox is only ever used from that thread), so the event loop keeps reading requests during the
fsync or a PostgreSQL round trip. Each request is answered only after its commit. (`in_thread=False`
commits on the event loop itself, blocking it; `bench/intake.py` compares the two.)

If a grouped commit raises, the jobs of the group are retried one by one, so one order that breaks
the store cannot take its neighbours down with it; two failures in a row mean the store itself is
failing, and the remaining jobs get that error at once instead of waiting their turn to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.outbox import Enqueued, OrderConflict, Outbox
from sonet_pipeline.outbox.model import order_hash
from sonet_pipeline.outbox.moves import OrderError, PriceFlags

log = logging.getLogger(__name__)

Outcome = Enqueued | OrderConflict


class CommitterStopped(RuntimeError):
    """The writer is not running (the app is starting or shutting down)."""


@dataclass
class _Job:
    tenant: str
    orders: list[dict[str, Any]]
    future: asyncio.Future[list[Outcome]] = field(repr=False)
    failures: list[OrderError | None] | None = None  # per order: stored `failed` with this error
    price_flags: list[PriceFlags | None] | None = None  # per order: kept with a new message


class GroupCommitter:
    def __init__(
        self,
        outbox: Outbox,
        *,
        actor: str,
        clock: Clock | None = None,
        max_orders: int = 2_000,
        linger_seconds: float = 0.0,
        in_thread: bool = True,
    ) -> None:
        self.outbox = outbox
        self.actor = actor
        self.clock = clock or SystemClock()
        self.max_orders = max_orders
        self.linger_seconds = linger_seconds
        self.in_thread = in_thread
        #: Counters for benchmarks and tests: grouped transactions and the orders they held.
        self.commits = 0
        self.committed_orders = 0
        self._queue: asyncio.Queue[_Job | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-writer")
        self._task = asyncio.create_task(self._run(), name="outbox-writer")

    async def stop(self) -> None:
        """Commit whatever is queued, then stop the writer."""
        if self._queue is None or self._task is None:
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._queue = self._task = self._executor = None

    async def submit(
        self,
        tenant: str,
        orders: list[dict[str, Any]],
        failures: list[OrderError | None] | None = None,
        price_flags: list[PriceFlags | None] | None = None,
    ) -> list[Outcome]:
        """Store `orders` for `tenant` durably; one outcome per order, in order. Raises what the outbox raised.

        `failures`, one per order: a new order with an error is stored `failed` with it (`enqueue_many`);
        `price_flags`, one per order: the lines not at the buyer's price, kept with a new message."""
        if not orders:
            return []
        if self._queue is None or not self.running:
            raise CommitterStopped("the outbox writer is not running")
        future: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(tenant, orders, future, failures, price_flags))
        # The commit goes on even if this request is cancelled (client gone): its answer is just not read.
        return await asyncio.shield(future)

    async def stored(self, tenant: str, orders: list[dict[str, Any]]) -> list[Enqueued | None]:
        """Each order as the outbox already holds it (`already_stored`), read in the writer's thread."""
        if not orders:
            return []
        if self._executor is None or not self.running:
            raise CommitterStopped("the outbox writer is not running")
        call = partial(_all_stored, self.outbox, tenant, orders)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _run(self) -> None:
        assert self._queue is not None
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            jobs, stopping = await self._gather(first)
            await self._commit(jobs)

    async def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """The first job plus every job already waiting (and, if lingering, those arriving meanwhile)."""
        assert self._queue is not None
        jobs, count = [first], len(first.orders)
        deadline = asyncio.get_running_loop().time() + self.linger_seconds
        while count < self.max_orders:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if job is None:
                return jobs, True
            jobs.append(job)
            count += len(job.orders)
        return jobs, False

    async def _commit(self, jobs: list[_Job]) -> None:
        by_tenant: dict[str, list[_Job]] = defaultdict(list)
        for job in jobs:
            by_tenant[job.tenant].append(job)
        for tenant, group in by_tenant.items():
            try:
                await self._commit_group(tenant, group)
            except Exception as exc:
                if len(group) == 1:
                    _settle(group[0], exc)
                    continue
                log.warning(
                    "grouped commit of %d jobs for %s failed (%s); retrying each alone", len(group), tenant, exc
                )
                await self._commit_one_by_one(tenant, group)

    async def _commit_one_by_one(self, tenant: str, group: list[_Job]) -> None:
        failed_in_a_row = 0
        for position, job in enumerate(group):
            try:
                await self._commit_group(tenant, [job])
                failed_in_a_row = 0
            except Exception as exc:
                _settle(job, exc)
                failed_in_a_row += 1
                if failed_in_a_row == 2:
                    for rest in group[position + 1 :]:
                        _settle(rest, exc)
                    return

    async def _commit_group(self, tenant: str, group: list[_Job]) -> None:
        assert self._executor is not None
        orders = [order for job in group for order in job.orders]
        call = partial(self.outbox.enqueue_many, tenant, orders, actor=self.actor, now=self.clock.now())
        if any(job.failures for job in group):
            failures = [failure for job in group for failure in (job.failures or [None] * len(job.orders))]
            call = partial(call, failures=failures)
        if any(job.price_flags for job in group):
            flags = [flag for job in group for flag in (job.price_flags or [None] * len(job.orders))]
            call = partial(call, price_flags=flags)
        if self.in_thread:
            outcomes = await asyncio.get_running_loop().run_in_executor(self._executor, call)
        else:
            outcomes = call()
        if len(outcomes) != len(orders):
            raise RuntimeError(f"the outbox answered {len(outcomes)} outcomes for {len(orders)} orders")
        self.commits += 1
        self.committed_orders += len(orders)
        start = 0
        for job in group:
            _settle(job, outcomes[start : start + len(job.orders)])
            start += len(job.orders)


def already_stored(outbox: Outbox, tenant: str, order: dict[str, Any]) -> Enqueued | None:
    """The message holding `order` when the tenant's outbox has its orderNumber with the content of one
    of its versions (what `enqueue` would answer as the same order again), else None. So an order
    stored before its rights changed is answered as stored when the web shop sends it again, not as
    refused."""
    number = order.get("orderNumber")
    message = outbox.find(tenant, number) if isinstance(number, str) else None
    if message is None:
        return None
    digest = order_hash(order)
    if any(order_hash(version) == digest for version in outbox.versions(message.message_id)):
        return Enqueued(message.message_id, message.state, False)
    return None


def _all_stored(outbox: Outbox, tenant: str, orders: list[dict[str, Any]]) -> list[Enqueued | None]:
    return [already_stored(outbox, tenant, order) for order in orders]


def _settle(job: _Job, result: list[Outcome] | BaseException) -> None:
    if job.future.done():
        return
    if isinstance(result, BaseException):
        job.future.set_exception(result)
    else:
        job.future.set_result(result)
