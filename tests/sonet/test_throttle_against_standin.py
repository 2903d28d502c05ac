"""No self-caused 429 at any limit: the project's clients against a stand-in whose limits equal theirs.

For each setting the stand-in's Query and Message API limits are set to it, and the clients' throttles
to the same numbers. Then, at once, as a sync and a send run do: one reader pages through the items
with a small page size (one request after another, as the sync does), a second reader pages through the
customers (a lookup beside the sync, on the same throttle), and as many senders as the limit lets in
flight post orders. The stand-in's own counters (`GET /admin/companies/01/counters`) must show no 429.

The stand-in and the clients share one clock that runs `SPEED` times faster than real time, so a
setting of 0.5 requests a second costs 0.4 real seconds a request. Real delays (network, threads, the
GIL) count `SPEED` times as much on that clock: it makes the test harsher, not kinder.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.contract import read_bytes
from sonet_pipeline.sonet.entities import entity
from sonet_pipeline.sonet.message import ACCEPTED, SonetMessageClient
from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.sonet.throttle import Throttle
from sonet_pipeline.standin.boot import build_standin
from sonet_pipeline.standin.runtime import ApiLimits
from sonet_pipeline.standin.server import RunningStandin
from tests.standin.standin_http import TOKENS, config

SPEED = 5.0
ORDER = read_bytes("examples/sales-order-b2b.xml")


class FastClock:
    """Real time, `speed` times faster: `monotonic()` and `now()` run ahead, `sleep()` is shorter."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._origin = time.monotonic()
        self._start = datetime.now(UTC)

    def monotonic(self) -> float:
        return (time.monotonic() - self._origin) * self.speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)


@dataclass
class Figures:
    """What one setting's run did, by the stand-in's count and the clients'."""

    query_requests: int
    query_429_met: int
    items: int
    customers: int
    orders_accepted: int
    counters: dict[str, Any]

    @property
    def throttled(self) -> int:
        return int(self.counters["throttled"])

    def summary(self) -> str:
        return f"429s at the stand-in {self.throttled}, answers {self.counters['responses']}"


@contextmanager
def limited_standin(limits: ApiLimits, clock: Clock, items: int) -> Iterator[str]:
    """A stand-in whose two APIs both have `limits`, on `clock`; answers its base URL."""
    standin = build_standin(config(items=items, query_limits=limits, message_limits=limits), clock)
    server = RunningStandin(standin).start()
    try:
        yield server.base_url
    finally:
        server.stop()


def order(number: int) -> bytes:
    """The contract's example order under a new MessageId and web order number."""
    text = ORDER.decode()
    text = text.replace("0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21", str(uuid.uuid4()))
    return text.replace("WEB-100234", f"WEB-T{number:05d}").encode()


def run_setting(limits: ApiLimits, clock: Clock, *, items: int, page_size: int, orders: int) -> Figures:
    """Sync-like paging, a second reader and parallel sends against a stand-in with `limits`."""
    with limited_standin(limits, clock, items) as base_url:
        common = {"tenant": "acme", "base_url": base_url, "company": "01", "token": TOKENS["01"], "clock": clock}
        query_throttle = Throttle(limits.rate, limits.burst, limits.in_flight, clock)
        message_throttle = Throttle(limits.rate, limits.burst, limits.in_flight, clock)
        with (
            SonetQueryClient(throttle=query_throttle, timeout_seconds=30, **common) as reader,
            SonetMessageClient(throttle=message_throttle, timeout_seconds=30, **common) as sender,
            ThreadPoolExecutor(max_workers=2 + limits.in_flight) as pool,
        ):

            def read(name: str, first: int) -> int:
                return sum(len(page.records) for page in reader.iter_pages(entity(name), first=first))

            item_count = pool.submit(read, "items", page_size)
            customer_count = pool.submit(read, "customers", max(1, page_size // 2))
            sends = [pool.submit(sender.send, order(n)) for n in range(orders)]
            accepted = sum(future.result().kind == ACCEPTED for future in sends)
            figures = (item_count.result(), customer_count.result(), accepted)
        counters = requests.get(f"{base_url}/admin/companies/01/counters", timeout=10).json()
    stats = reader.stats
    return Figures(stats.requests, stats.throttled, *figures, counters)


@pytest.mark.slow  # about 35 s in all
@pytest.mark.parametrize(
    ("rate", "burst", "in_flight"),
    [(1, 1, 1), (1, 1, 2), (1, 2, 2), (0.5, 1, 2), (5, 2, 2)],
    ids=["1/s-burst1", "1/s-burst1-2inflight", "1/s-burst2-2inflight", "0.5/s-burst1", "5/s-burst2"],
)
def test_no_429_when_the_clients_limits_equal_sonets(rate, burst, in_flight):
    """About 40 Query API requests (30 pages of items one after another, customers beside them) and 8
    orders through the Message API, each API limited to the setting on both sides: Sonet answers no
    429, every page and every order goes through."""
    limits = ApiLimits(rate=rate, burst=burst, in_flight=in_flight)
    figures = run_setting(limits, FastClock(SPEED), items=300, page_size=10, orders=8)
    print(f"{limits}: {figures.summary()}")  # the figures, for `pytest -s`
    assert figures.throttled == 0, figures.counters
    assert figures.query_429_met == 0
    assert figures.items == 300 and figures.customers > 0
    assert figures.orders_accepted == 8
    query_answers = figures.counters["responses"]["query"]
    assert query_answers == {"200": figures.query_requests}, query_answers
    assert figures.counters["responses"]["message"] == {"201": 8}


@pytest.mark.slow
def test_the_reported_initial_sync_meets_no_429_on_the_real_clock():
    """The case of the report, in real time: 3,000 items at 1 request/s, burst 2, 2 in flight, paged 200
    at a time (15 pages), customers read beside them and 4 orders sent: no 429 (before: one)."""
    limits = ApiLimits(rate=1, burst=2, in_flight=2)
    figures = run_setting(limits, SystemClock(), items=3_000, page_size=200, orders=4)
    print(f"{limits}: {figures.summary()}")
    assert figures.throttled == 0, figures.counters
    assert figures.items == 3_000 and figures.orders_accepted == 4


def test_the_fast_clock_runs_fast():
    """The test's clock: `SPEED` times real time, both ways."""
    clock = FastClock(SPEED)
    started, real = clock.monotonic(), time.monotonic()
    clock.sleep(0.5)
    assert clock.monotonic() - started >= 0.5
    assert time.monotonic() - real < 0.5
