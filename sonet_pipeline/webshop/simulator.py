"""The simulated web shop at work: orders posted to the intake at a pace, for every tenant in turn.

`WebShop.run(stop)` places orders until `stop` is set: each from the tenant's latest published files
(re-read when the manifest lists other files), the kind `Pace.kind` says, posted alone or, in a burst,
as one batch request. It says what it did through `report` (a line a person reads). A tenant whose
files are not yet published is skipped (said once); an order that got no decision (no answer, 503) is
kept and posted again first. `meant(order, answer)` is whether the intake answered as the order's kind
means: taken for `valid` and `refused_by_sonet`, 422 NOT_ALLOWED for `refused_at_door` (nothing stored, or
kept `failed` when the tenant's `order_rights.not_allowed` is `store_failed`).
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sonet_pipeline.common.blobs import Blobs
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.webshop.intake_client import Answer, IntakeClient
from sonet_pipeline.webshop.order_builder import (
    REFUSED_AT_DOOR,
    REFUSED_BY_SONET,
    NothingToOrder,
    OrderBuilder,
    ShopOrder,
)
from sonet_pipeline.webshop.pace import Pace, Schedule
from sonet_pipeline.webshop.published import PublishedFilesError, published_version, read_published

#: Orders kept for another try at most; older ones are dropped (said).
MAX_KEPT = 1000


@dataclass(frozen=True)
class ShopTenant:
    """A tenant as its web shop knows it: its name on the intake, its token, its published files."""

    name: str
    token: str = field(repr=False)
    files: Blobs
    guests: bool = True  # the tenant takes guest orders (`order_rights.guest_orders`)


def meant(order: ShopOrder, answer: Answer) -> bool:
    """Whether the intake answered as the order's kind means."""
    if order.kind == REFUSED_AT_DOOR:
        return answer.status == 422 and answer.error_code == order.expected_error
    return answer.status in (200, 202)


class WebShop:
    """Places orders for `tenants` through `client` at `pace`; numbers them `<prefix>-00001`, ..."""

    def __init__(
        self,
        client: IntakeClient,
        tenants: Sequence[ShopTenant],
        pace: Pace,
        *,
        clock: Clock,
        rng: random.Random,
        report: Callable[[str], None],
        prefix: str,
    ) -> None:
        self.client, self.tenants, self.pace = client, list(tenants), pace
        self.clock, self.rng, self.report, self.prefix = clock, rng, report, prefix
        self.placed = 0
        self._turn = 0
        self._builders: dict[str, tuple[tuple[str, ...], OrderBuilder | None]] = {}
        self._said: set[str] = set()
        self._kept: deque[tuple[ShopTenant, ShopOrder]] = deque()

    def run(self, stop: threading.Event) -> None:
        schedule = Schedule(self.pace, self.clock.monotonic())
        while not stop.is_set():
            singles, burst = schedule.due(self.clock.monotonic())
            for _ in range(singles):
                self.place_one()
            if burst:
                self.place_burst(burst)
            stop.wait(schedule.wait(self.clock.monotonic()))

    def place_one(self) -> None:
        """Post the oldest kept order, else a new one."""
        if self._kept:
            tenant, order = self._kept.popleft()
        else:
            chosen = self._next_order()
            if chosen is None:
                return
            tenant, order = chosen
        self._settle(tenant, order, self.client.post(tenant.name, tenant.token, order.order), "")

    def place_burst(self, size: int) -> None:
        """`size` new orders of one tenant in one batch request."""
        first = self._next_order()
        if first is None:
            return
        tenant, orders = first[0], [first[1]]
        while len(orders) < size and (more := self._order_for(tenant)) is not None:
            orders.append(more)
        answers = self.client.post_batch(tenant.name, tenant.token, [o.order for o in orders])
        for order, answer in zip(orders, answers, strict=True):
            self._settle(tenant, order, answer, " (burst)")

    def _settle(self, tenant: ShopTenant, order: ShopOrder, answer: Answer, how: str) -> None:
        lines = len(order.order["lines"])
        said = f"web shop: {tenant.name} {order.number}{how}, {order.note}, {lines} line(s) -> {answer.describe()}"
        if answer.retry:
            if len(self._kept) >= MAX_KEPT:
                self.report(f"{said}; dropped: {MAX_KEPT} orders are already waiting")
                return
            self._kept.append((tenant, order))
            self.report(f"{said}; kept to try again")
        elif order.kind == REFUSED_BY_SONET and meant(order, answer):
            self.report(f"{said}; Sonet will refuse it ({order.expected_error})")
        elif order.kind == REFUSED_AT_DOOR and meant(order, answer):
            self.report(f"{said}; refused as meant")
        elif meant(order, answer):
            self.report(said)
        else:
            self.report(f"{said}; NOT as meant ({order.kind})")

    def _next_order(self) -> tuple[ShopTenant, ShopOrder] | None:
        """A new order of the next tenant (in turn) whose files are published."""
        for _ in range(len(self.tenants)):
            tenant = self.tenants[self._turn % len(self.tenants)]
            self._turn += 1
            order = self._order_for(tenant)
            if order is not None:
                return tenant, order
        return None

    def _order_for(self, tenant: ShopTenant) -> ShopOrder | None:
        builder = self._builder(tenant)
        if builder is None:
            return None
        ordinal = self.placed + 1
        number, now, kind = f"{self.prefix}-{ordinal:05d}", self.clock.now(), self.pace.kind(ordinal)
        try:
            order = builder.refused_at_door(number, now, self.rng) if kind == REFUSED_AT_DOOR else None
            if order is None and kind != "valid":
                order = builder.refused_by_sonet(number, now, self.rng)
            if order is None:
                order = builder.valid(number, now, self.rng)
        except NothingToOrder as exc:
            self._say_once(f"nothing:{tenant.name}:{exc}", f"web shop: {tenant.name}: nothing to order: {exc}")
            return None
        self.placed = ordinal
        return order

    def _builder(self, tenant: ShopTenant) -> OrderBuilder | None:
        try:
            version = published_version(tenant.files)
            if version is None:
                self._say_once(f"wait:{tenant.name}", f"web shop: {tenant.name}: waiting for the first publish")
                return None
            known = self._builders.get(tenant.name)
            if known is not None and known[0] == version:
                return known[1]
            shop = read_published(tenant.files)
        except (PublishedFilesError, OSError) as exc:
            self._say_once(f"files:{tenant.name}:{exc}", f"web shop: {tenant.name}: cannot read its files: {exc}")
            return None
        builder = None if shop is None else OrderBuilder(shop, guests=tenant.guests)
        self._builders[tenant.name] = (version, builder)
        return builder

    def _say_once(self, key: str, line: str) -> None:
        if key not in self._said:
            self._said.add(key)
            self.report(line)
