"""`POST /tenants/{tenant}/customers/lookup`: which ACTIVE customer a registering buyer is.

The web shop, with the tenant's intake token, sends a JSON object holding exactly one of
`businessId`, `vatNumber`, `email` (a non-empty string of at most 200 characters). Answers:

- 200 `{"accountId", "name"}`: one ACTIVE customer matches (`rights.customer_lookup`: normalized,
  an e-mail of the customer or of any of its contacts); nothing else about the customer;
- 404 `CUSTOMER_NOT_FOUND`: none matches; 409 `AMBIGUOUS`: several customers match (none named);
- 400 `INVALID_JSON` / `INVALID_LOOKUP` (not one of the keys, another key, not a string, blank, too
  long); 401, 404 (tenant), 415, 413 (over 4 KiB) as for orders;
- 429 `RATE_LIMITED` with `Retry-After`: over the token's rate, a token bucket per intake token of
  the tenant's `customer_lookup.per_minute` and `.burst` (the check is made after the token's, so a
  wrong token never spends a lookup);
- 503 `CUSTOMERS_UNKNOWN` with `Retry-After`: no snapshot with the customers synced yet.

Answered from the tenant's published snapshot (`published.PublishedView`: kept, rechecked every 5 s,
rebuilt when the customers or segments changed), never by calling Sonet.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import threading
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.common.token_bucket import TokenBucket
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.admission import Admission
from sonet_pipeline.intake.answers import RIGHTS_RETRY_AFTER_SECONDS, Json, Refusal, error_response
from sonet_pipeline.intake.bodies import check_media_type, parse, read_capped
from sonet_pipeline.intake.published import PublishedView
from sonet_pipeline.rights.customer_lookup import LOOKUP_KEYS, CustomerIndex
from sonet_pipeline.store import Snapshot

log = logging.getLogger(__name__)

MAX_LOOKUP_BYTES = 4 * 1024
MAX_VALUE_LENGTH = 200
#: A value holds something besides whitespace (the OpenAPI document's pattern: the same test).
NOT_BLANK = r"\S"


class PublishedCustomers(PublishedView[CustomerIndex]):
    """Each tenant's `CustomerIndex` from its published snapshot, kept and refreshed. Thread-safe."""

    what = "customers for lookups"
    sources = ("customers", "segments")

    def build(self, tenant: Tenant, snapshot: Snapshot) -> CustomerIndex:
        return CustomerIndex.build(snapshot.records("customers"), snapshot.records("segments"))


class LookupRates:
    """A token bucket per (tenant, intake token): the token itself is never kept, only its digest."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._guard = threading.Lock()

    def wait(self, tenant: Tenant, token: str) -> float:
        """0.0 when the token may look up now (one lookup spent), else the seconds until it may."""
        key = (tenant.name, hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest())
        limits = tenant.customer_lookup
        with self._guard:
            bucket = self._buckets.get(key)
            if bucket is None or (bucket.rate, bucket.burst) != (limits.per_minute / 60, limits.burst):
                bucket = self._buckets[key] = TokenBucket(limits.per_minute / 60, limits.burst, self.clock)
        return bucket.try_take()


def lookup_of(body: Any) -> tuple[str, str]:
    """The (key, value) a lookup body asks for, or a 400 `Refusal` naming what is wrong."""
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object holding one of " + ", ".join(LOOKUP_KEYS), None)
    unknown = sorted(set(body) - set(LOOKUP_KEYS))
    if unknown:
        raise _invalid(f"unknown key {unknown[0][:40]!r}: a lookup holds one of {', '.join(LOOKUP_KEYS)}", unknown[0])
    given = [key for key in LOOKUP_KEYS if key in body]
    if len(given) != 1:
        raise _invalid(f"a lookup holds exactly one of {', '.join(LOOKUP_KEYS)}, not {len(given)}", None)
    [key] = given
    value = body[key]
    if not isinstance(value, str) or not re.search(NOT_BLANK, value):
        raise _invalid(f"{key} must be a non-empty string", key)
    if len(value) > MAX_VALUE_LENGTH:
        raise _invalid(f"{key} is longer than {MAX_VALUE_LENGTH} characters", key)
    return key, value


def _invalid(message: str, field: str | None) -> Refusal:
    return Refusal(error_response(400, "INVALID_LOOKUP", message, field))


class CustomerLookup:
    """The route's handler, behind the intake's admission."""

    def __init__(self, admission: Admission, customers: PublishedCustomers, rates: LookupRates) -> None:
        self.admission = admission
        self.customers = customers
        self.rates = rates

    async def post(self, request: Request) -> Response:
        try:
            tenant = await self.admission.admit(request)
            token = request.headers.get("authorization", "").partition(" ")[2].strip()
            wait = self.rates.wait(tenant, token)
            if wait > 0:
                seconds = max(1, math.ceil(wait))  # never 0 when the caller must wait
                message = (
                    f"over the lookup rate of tenant {tenant.name!r} ({tenant.customer_lookup.per_minute:g} a minute)"
                )
                log.info("tenant %s: a customer lookup over the rate", tenant.name)
                return error_response(429, "RATE_LIMITED", message, headers={"Retry-After": str(seconds)})
            check_media_type(request)
            key, value = lookup_of(parse(await read_capped(request, MAX_LOOKUP_BYTES)))
        except Refusal as refusal:
            return refusal.response
        if self.customers.fresh(tenant.name):
            index = self.customers.get(tenant)
        else:
            index = await asyncio.to_thread(self.customers.get, tenant)
        if index is None:
            message = (
                f"the customers of tenant {tenant.name!r} are not known yet (no sync has published them); retry later"
            )
            headers = {"Retry-After": str(RIGHTS_RETRY_AFTER_SECONDS)}
            return error_response(503, "CUSTOMERS_UNKNOWN", message, headers=headers)
        matches = index.find(key, value)
        log.info("tenant %s: a customer lookup by %s found %d", tenant.name, key, len(matches))
        if not matches:
            return error_response(404, "CUSTOMER_NOT_FOUND", f"no ACTIVE customer has this {key}", key)
        if len(matches) > 1:
            message = f"several customers have this {key}: the lookup cannot tell which; register with another key"
            return error_response(409, "AMBIGUOUS", message, key)
        return Json(matches[0].as_json(), 200)
