"""The Sonet Query API client: pages of records over GraphQL, within the tenant's limits, retried.

Every request goes through the tenant's shared `Throttle`. Answers that decide nothing (429, 503,
other 5xx, `INTERNAL`, broken connections, timeouts) are retried per the project's `RetryPolicy`,
every Retry-After obeyed by the whole tenant (`Throttle.hold_off`); past the policy's bounds they end
in `SonetUnavailableError`. A refused token or company (401, 403) is `SonetAuthError` at once, a
refused query (`BAD_USER_INPUT`) `SonetQueryError` at once. Messages name the tenant, never the token.

Hostile answers: a body is read as it streams, at most `MAX_ANSWER_BYTES` (`query_connection.py`: a
larger one is `SonetAnswerError` TOO_LARGE at once, the rest never read); a 200 whose Content-Type is
not JSON (a proxy's HTML page) or whose JSON is not a GraphQL answer is a PROTOCOL problem, retried like
a 503; `data` that breaks the contract's schema for the query (`answer_shape.py`: a missing field, a
null where the type forbids it, a value of the wrong type) is `SonetAnswerError` INVALID_ANSWER at once
(`query_errors.py`), naming the list, the field, the record's key and the cursor, so that nothing of
that page is used.

One client may be used from several threads: each thread gets its own keep-alive session (a gql
`RequestsHTTPTransport`, connected once), and all of them share the throttle. Queries are validated
against the packaged contract schema once per process (`schema.py`). Records are the raw JSON nodes, values as
Sonet sent them.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import cache
from typing import Any

import requests
from gql.transport.exceptions import TransportConnectionFailed, TransportProtocolError, TransportServerError

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.sonet.capped_read import AnswerRefused
from sonet_pipeline.sonet.entities import Entity, entity
from sonet_pipeline.sonet.query_connection import Connection, ValidatedQuery
from sonet_pipeline.sonet.query_errors import SonetAnswerError, SonetQueryError, SonetUnavailableError, check_answer
from sonet_pipeline.sonet.query_errors import SonetAuthError as SonetAuthError  # assets/tenant_sync.py imports it here
from sonet_pipeline.sonet.retry import RetryPolicy, parse_retry_after
from sonet_pipeline.sonet.throttle import Throttle

log = logging.getLogger(__name__)

_AUTH_CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN"}
_TRANSIENT_CODES = {"THROTTLED": "throttled", "UNAVAILABLE": "unavailable", "INTERNAL": "unavailable"}


@dataclass(frozen=True)
class QueryPage:
    records: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool


@dataclass
class QueryStats:
    """What a client did and met. Thread-safe increments through `add`."""

    requests: int = 0
    pages: int = 0
    records: int = 0
    retries: int = 0
    throttled: int = 0  # 429s met
    unavailable: int = 0  # 503s, other 5xx and INTERNAL errors met
    connection_errors: int = 0  # broken connections and timeouts
    waited_seconds: float = 0.0  # in Retry-After and backoff
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: float) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


@dataclass(frozen=True)
class _Problem:
    """Why one attempt decided nothing."""

    code: str
    detail: str
    retry_after: float | None = None


class SonetQueryClient:
    def __init__(
        self,
        *,
        tenant: str,
        base_url: str,
        company: str,
        token: str,
        throttle: Throttle,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so one shared default is safe
        clock: Clock | None = None,
        rng: random.Random | None = None,
        credentials_hint: str = "",
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be > 0, got {timeout_seconds}")
        self.tenant = tenant
        self.company = company
        self.throttle = throttle
        self.retry = retry
        self.stats = QueryStats()
        self._url = base_url.rstrip("/") + "/graphql"
        self._token = token
        self._timeout = timeout_seconds
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._hint = credentials_hint or "check the tenant's Sonet token"
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False

    # --- the API --------------------------------------------------------------------------------

    def page(
        self,
        entity: Entity,
        *,
        first: int = 500,
        after: str | None = None,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
    ) -> QueryPage:
        """One page of `entity` after cursor `after`, within `modified_from <= dateModified < modified_to`."""
        bounds = {"modifiedFrom": modified_from, "modifiedTo": modified_to}
        change_filter = {name: format_datetime(value) for name, value in bounds.items() if value is not None}
        variables = {"first": first, "after": after, "filter": change_filter or None}
        data = self._execute(entity.page_query(), variables, what=entity.list_field)
        check_answer(
            entity.page_query(), data, entity, after, tenant=self.tenant, list_name=entity.list_field, scrub=self._scrub
        )
        connection = data[entity.list_field]
        records = [edge["node"] for edge in connection["edges"]]
        info = connection["pageInfo"]
        self.stats.add(pages=1, records=len(records))
        return QueryPage(records, info["endCursor"], bool(info["hasNextPage"]))

    def iter_pages(
        self,
        entity: Entity,
        *,
        first: int = 500,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
    ) -> Iterator[QueryPage]:
        """Every page of `entity` in the window, following `endCursor` only (never a timestamp)."""
        after: str | None = None
        while True:
            page = self.page(entity, first=first, after=after, modified_from=modified_from, modified_to=modified_to)
            yield page
            if not page.has_next_page:
                return
            if not page.end_cursor:
                problem = f"tenant {self.tenant!r}: Sonet said hasNextPage without an endCursor"
                raise SonetQueryError(f"{problem} ({entity.list_field})", code="PROTOCOL", tenant=self.tenant)
            after = page.end_cursor

    def sales_order(self, message_id: str) -> dict[str, Any] | None:
        """The SalesOrder accepted under `message_id`, or None (which proves nothing within the lag)."""
        data = self._execute(_sales_order_query(), {"messageId": message_id}, what="salesOrder")
        orders, query = entity("sales_orders"), _sales_order_query()
        check_answer(query, data, orders, None, tenant=self.tenant, list_name="salesOrder", scrub=self._scrub)
        found: dict[str, Any] | None = data["salesOrder"]
        return found

    def close(self) -> None:
        """Close every session of the client (call it when no request of the client is running)."""
        with self._connections_lock:
            self._closed = True
            for connection in self._connections:
                connection.transport.close()  # type: ignore[no-untyped-call]  # unannotated in gql
            self._connections.clear()

    def __enter__(self) -> SonetQueryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SonetQueryClient(tenant={self.tenant!r}, url={self._url!r}, company={self.company!r})"

    # --- requests, retries and errors ------------------------------------------------------------

    def _execute(self, query: str, variables: dict[str, Any], *, what: str = "") -> dict[str, Any]:
        request = ValidatedQuery(query, variables)
        started = self._clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(request, what)
            if not isinstance(outcome, _Problem):
                return outcome
            elapsed = self._clock.monotonic() - started
            delay = self.retry.delay(attempt, outcome.retry_after, self._rng)
            if not self.retry.allows(attempt, elapsed, delay):
                raise self._gave_up(outcome, attempt, elapsed, delay)
            if outcome.retry_after:
                self.throttle.hold_off(outcome.retry_after)
            log.warning(
                "tenant %s: Sonet Query API %s, attempt %d; again in %.2f s", self.tenant, outcome.code, attempt, delay
            )
            self._clock.sleep(delay)
            self.stats.add(retries=1, waited_seconds=delay)

    def _attempt(self, request: ValidatedQuery, what: str = "") -> dict[str, Any] | _Problem:
        connection = self._connection()
        with self.throttle.slot():
            self.stats.add(requests=1)
            try:
                result = connection.transport.execute(request)
            except TransportServerError as exc:  # status >= 400 without a GraphQL body
                return self._refused(None, exc.code or connection.status, str(exc), connection)
            except TransportConnectionFailed as exc:
                refused = exc.__cause__
                if isinstance(refused, AnswerRefused) and refused.code == "TOO_LARGE":
                    message = f"tenant {self.tenant!r}: Sonet's {what or 'Query API'} answer refused: {refused}"
                    raise SonetAnswerError(message, code=refused.code, tenant=self.tenant, entity=what) from None
                if isinstance(refused, AnswerRefused):
                    self.stats.add(unavailable=1)
                    return _Problem("PROTOCOL", str(refused))
                timeout = isinstance(exc.__cause__, requests.Timeout)
                self.stats.add(connection_errors=1)
                return _Problem("TIMEOUT" if timeout else "CONNECTION", self._scrub(str(exc)))
            except TransportProtocolError as exc:  # an answer that is not GraphQL, e.g. a proxy's page
                self.stats.add(unavailable=1)
                return _Problem("PROTOCOL", self._scrub(str(exc))[:300])
            except (TypeError, AttributeError):  # JSON that is not an object (`42`, `null`): gql trips on it
                self.stats.add(unavailable=1)
                return _Problem("PROTOCOL", "an answer whose JSON is not a GraphQL result object")
        if result.errors or result.data is None:
            # gql types ExecutionResult.errors as GraphQLErrors; it holds the answer's JSON dicts.
            error = (result.errors or [{"message": "an answer without data or errors"}])[0]  # type: ignore[list-item]
            code = (error.get("extensions") or {}).get("code")  # type: ignore[attr-defined]
            return self._refused(code, connection.status, str(error.get("message", "")), connection)  # type: ignore[attr-defined]
        return result.data

    def _refused(self, code: str | None, status: int, message: str, connection: Connection) -> _Problem:
        """The problem to retry, or the error to raise, for an answer with an error code or status."""
        code = code or _AUTH_CODES.get(status) or {429: "THROTTLED", 503: "UNAVAILABLE"}.get(status)
        detail = self._scrub(message)
        if code == "UNAUTHENTICATED":
            refused = f"the token ({code}); {self._hint}"
            raise SonetAuthError(f"tenant {self.tenant!r}: Sonet refused {refused}", code=code, tenant=self.tenant)
        if code == "FORBIDDEN":
            refused = f"company {self.company!r} for this token ({code}); check the company code, and {self._hint}"
            raise SonetAuthError(f"tenant {self.tenant!r}: Sonet refused {refused}", code=code, tenant=self.tenant)
        counter = _TRANSIENT_CODES.get(code or "") or ("unavailable" if status >= 500 else None)
        if counter is None:
            code = code or f"HTTP_{status}"
            raise SonetQueryError(
                f"tenant {self.tenant!r}: Sonet refused the query ({code}): {detail}", code=code, tenant=self.tenant
            )
        self.stats.add(**{counter: 1})
        headers = connection.transport.response_headers
        retry_after = parse_retry_after(headers.get("Retry-After") if headers else None, self._clock.now())
        return _Problem(code or f"HTTP_{status}", detail, retry_after)

    def _gave_up(self, problem: _Problem, attempts: int, elapsed: float, delay: float) -> SonetUnavailableError:
        why = f"{attempts} attempt(s) over {elapsed:.0f} s"
        if attempts < self.retry.max_attempts:
            why += f", and a wait of {delay:.0f} s would pass the {self.retry.give_up_after_seconds:g} s bound"
        message = f"tenant {self.tenant!r}: Sonet's Query API gave no answer after {why}; last: {problem.code}"
        return SonetUnavailableError(
            f"{message}: {problem.detail}", code=problem.code, tenant=self.tenant, attempts=attempts
        )

    def _connection(self) -> Connection:
        """This thread's session, connected on its first request."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = Connection(self._url, self.company, self._token, self._timeout)
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text


def format_datetime(value: datetime) -> str:
    """A DateTime input: ISO-8601 in UTC with milliseconds and `Z`, e.g. 2026-11-28T04:38:00.123Z."""
    if value.tzinfo is None:
        raise ValueError(f"a DateTime for Sonet needs a timezone: {value.isoformat()}")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@cache
def _sales_order_query() -> str:
    selection = " ".join(f.selection for f in entity("sales_orders").fields)
    return f"query SalesOrderById($messageId: ID!) {{ salesOrder(messageId: $messageId) {{ {selection} }} }}"
