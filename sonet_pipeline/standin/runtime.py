"""The running stand-in's settings and shared state: companies, throttles, faults, counters, orders.

The HTTP layer (`app.py`), the Message API, the admin endpoints and the ERP activity all work on one
`Standin` object. Time comes from its injectable clock.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.common.token_bucket import InFlightLimit, TokenBucket
from sonet_pipeline.standin.state import CompanyState, Record, Version

QUERY_API = "query"
MESSAGE_API = "message"


@dataclass(frozen=True)
class ApiLimits:
    rate: float
    burst: int
    in_flight: int


#: The contract's defaults.
DEFAULT_QUERY_LIMITS = ApiLimits(rate=5, burst=10, in_flight=4)
DEFAULT_MESSAGE_LIMITS = ApiLimits(rate=10, burst=20, in_flight=4)


@dataclass(frozen=True)
class CompanyConfig:
    code: str
    token: str
    seed: int
    items: int
    customers: int | None = None


@dataclass
class Faults:
    """Misbehaviour on purpose. Shares are probabilities per request (0 to 1)."""

    unavailable_share: float = 0.0  # 503 with Retry-After, after the throttle
    unavailable_retry_after: int = 1
    lost_answer_share: float = 0.0  # Message API: the order is stored, the connection breaks
    slow_share: float = 0.0
    slow_seconds: float = 0.0  # real seconds, so clients' timeouts can be exercised
    # Hostile answers (`hostile.py`): a shape name each ("" is none), the share of answers they spoil,
    # where an entity points, which field of a record a spoiled page breaks, how big a huge body is.
    hostile_message: str = ""
    hostile_query: str = ""
    hostile_share: float = 1.0
    hostile_entity_url: str = "file:///etc/hostname"
    hostile_field: str = "dateModified"
    hostile_body_bytes: int = 50 * 1024 * 1024
    maintenance: list[tuple[datetime, datetime]] = field(default_factory=list)

    def maintenance_left(self, now: datetime) -> float | None:
        """Seconds until the maintenance window around `now` ends, or None outside one."""
        for start, end in self.maintenance:
            if start <= now < end:
                return (end - now).total_seconds()
        return None


@dataclass
class StandinConfig:
    companies: list[CompanyConfig]
    query_limits: ApiLimits | None = DEFAULT_QUERY_LIMITS  # None: unthrottled
    message_limits: ApiLimits | None = DEFAULT_MESSAGE_LIMITS
    lag_seconds: float = 90.0
    late_share: float = 0.0
    faults: Faults = field(default_factory=Faults)
    changes_per_minute: int = 0
    state_file: str | None = None
    admin: bool = True
    mixed_offsets: bool = False  # answer some DateTimes with +02:00 instead of Z
    fault_seed: int = 0


@dataclass
class AcceptedOrder:
    message_id: str
    canonical: bytes
    sonet_order_number: str
    received_at: datetime
    web_order_number: str
    customer_number: str | None


class Counters:
    """What an operator of a real Sonet could not show you: every answer, counted. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.responses: Counter[tuple[str, int]] = Counter()  # (api, HTTP status)
        self.message_arrivals: Counter[str] = Counter()  # MessageId -> times it arrived
        self.lost_answers = 0  # answers broken off on purpose (also counted by their status)
        self.hostile_answers = 0  # answers spoiled on purpose (`hostile.py`)
        self.hostile_bytes = 0  # bytes of huge hostile bodies handed to the server to send

    def count_response(self, api: str, status: int) -> None:
        with self._lock:
            self.responses[(api, status)] += 1

    def count_arrival(self, message_id: str) -> None:
        with self._lock:
            self.message_arrivals[message_id] += 1

    def count_lost_answer(self) -> None:
        with self._lock:
            self.lost_answers += 1

    def count_hostile(self, answers: int = 0, body_bytes: int = 0) -> None:
        with self._lock:
            self.hostile_answers += answers
            self.hostile_bytes += body_bytes

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            by_status: dict[str, dict[str, int]] = {}
            for (api, status), n in sorted(self.responses.items()):
                by_status.setdefault(api, {})[str(status)] = n
            return {
                "responses": by_status,
                "throttled": sum(n for (_, status), n in self.responses.items() if status == 429),
                "message_arrivals": dict(self.message_arrivals),
                "lost_answers": self.lost_answers,
                "hostile_answers": self.hostile_answers,
                "hostile_bytes": self.hostile_bytes,
            }


class Company:
    """One company of the Sonet installation: its data, token, throttles, counters and orders."""

    def __init__(self, config: CompanyConfig, standin: StandinConfig, clock: Clock) -> None:
        self.code = config.code
        self.token = config.token
        self.config = config
        self.state = CompanyState(
            config.code, clock, lag_seconds=standin.lag_seconds, late_share=standin.late_share, seed=config.seed
        )
        self.buckets: dict[str, TokenBucket | None] = {
            QUERY_API: _bucket(standin.query_limits, clock),
            MESSAGE_API: _bucket(standin.message_limits, clock),
        }
        self.in_flight: dict[str, InFlightLimit | None] = {
            QUERY_API: _in_flight(standin.query_limits),
            MESSAGE_API: _in_flight(standin.message_limits),
        }
        self.counters = Counters()
        self.orders: dict[str, AcceptedOrder] = {}
        self.orders_lock = threading.Lock()


class ChangeLog(Protocol):
    """Where changes go to survive a restart (`journal.Journal`)."""

    def append_change(self, company_code: str, entity: str, version: Version) -> None: ...

    def append_order(self, company_code: str, order: AcceptedOrder) -> None: ...


class Standin:
    def __init__(self, config: StandinConfig, clock: Clock | None = None) -> None:
        if not config.companies:
            raise ValueError("the stand-in needs at least one company")
        codes = [c.code for c in config.companies]
        if len(set(codes)) != len(codes):
            raise ValueError(f"company codes must be unique: {codes}")
        self.config = config
        self.clock = clock or SystemClock()
        self.companies = {c.code: Company(c, config, self.clock) for c in config.companies}
        self.fault_rng = random.Random(config.fault_seed)
        self._fault_lock = threading.Lock()
        self.change_log: ChangeLog | None = None

    def apply_change(
        self,
        company: Company,
        entity: str,
        records: list[Record],
        *,
        delay_seconds: float | None = None,
        same_stamp: bool = True,
    ) -> list[Version]:
        """Every data change after start-up goes through here, so it is journalled when persisting."""
        versions = company.state.change(entity, records, delay_seconds=delay_seconds, same_stamp=same_stamp)
        if self.change_log is not None:
            for version in versions:
                self.change_log.append_change(company.code, entity, version)
        return versions

    def chance(self, share: float) -> bool:
        """A seeded coin: True with probability `share`."""
        if share <= 0:
            return False
        with self._fault_lock:
            return self.fault_rng.random() < share

    def authenticate(self, token: str | None, company_code: str | None) -> Company | int:
        """The company a request may use, or the HTTP status refusing it (401 or 403)."""
        holders = [c for c in self.companies.values() if token and c.token == token]
        if not holders:
            return 401
        company = self.companies.get(company_code or "")
        if company is None or company not in holders:
            return 403
        return company

    def start_maintenance(self, seconds: float) -> tuple[datetime, datetime]:
        start = self.clock.now()
        window = (start, start + timedelta(seconds=seconds))
        self.config.faults.maintenance.append(window)
        return window

    def end_maintenance(self) -> None:
        self.config.faults.maintenance.clear()


def _bucket(limits: ApiLimits | None, clock: Clock) -> TokenBucket | None:
    return None if limits is None else TokenBucket(limits.rate, limits.burst, clock)


def _in_flight(limits: ApiLimits | None) -> InFlightLimit | None:
    return None if limits is None else InFlightLimit(limits.in_flight)
