"""The HTTP intake: the web shop hands orders here; each valid one is in the outbox before the answer.

Routes (conventions.md, "Intake HTTP"; the full description is served at `/openapi.json`):

- `POST /tenants/{tenant}/orders`: 202 `{"message_id", "state"}` new, 200 the same order again, 409
  same orderNumber with other content (`message_id` names the stored one), 400 not JSON, 401 token,
  404 tenant, 413 over 1 MiB, 415 a Content-Type that is not JSON, 422 invalid (schema or semantic
  rule, `field` says where) or NOT_ALLOWED by the tenant's published rights (`rule`, `limit`:
  `rights_gate`), 503 with `Retry-After` when the outbox cannot store or, for an account order, the
  rights are not known before the tenant's first sync (RIGHTS_UNKNOWN). Every error body is
  `{"error": {"code", "message", "field", ...}}`.
- `POST /tenants/{tenant}/orders/batch`: a JSON array of at most 1,000 orders and 8 MiB; always 200
  with one entry per order, in order, `{"status", "message_id"?, "state"?, "error"?}`, `status` being
  what the single route would have answered for that order. The stored ones share one commit.
- `POST /tenants/{tenant}/customers/lookup`: which ACTIVE customer a registering buyer is, by one of
  `businessId`, `vatNumber`, `email`: 200 `{"accountId", "name"}`, 404, 409 AMBIGUOUS, 429 over the
  token's rate (`customer_lookup.py`).
- `GET /openapi.json`, `GET /health`.

What the routes do: `handlers.Intake` (judging, rights, storing, answering), behind
`admission.Admission` (the tenant and its token: environment variable or AWS Secrets Manager, followed
within seconds of a rotation). Single orders are group-committed too (`committer.GroupCommitter`):
orders arriving together share one durable transaction, each answered after it. No input yields a
5xx: errors of the outbox are 503 (not the sender's fault, retry later).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.secrets import ClientFactory, SecretCache
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.admission import Admission
from sonet_pipeline.intake.answers import error_response
from sonet_pipeline.intake.committer import GroupCommitter
from sonet_pipeline.intake.customer_lookup import CustomerLookup, LookupRates, PublishedCustomers
from sonet_pipeline.intake.handlers import Intake
from sonet_pipeline.intake.price_gate import PublishedPrices
from sonet_pipeline.intake.rights_gate import PublishedRights
from sonet_pipeline.outbox import Outbox

ACTOR = "intake"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


def create_app(
    tenants: list[Tenant],
    outbox: Outbox,
    *,
    clock: Clock | None = None,
    token_lookup: Callable[[str], str | None] = os.environ.get,
    secrets: ClientFactory | None = None,
    secret_cache: SecretCache | None = None,
    linger_seconds: float = 0.0,
    rights: PublishedRights | None = None,
    prices: PublishedPrices | None = None,
    customers: PublishedCustomers | None = None,
) -> Starlette:
    """The intake app. The outbox writer starts and stops with the app's lifespan.

    Tokens: `token_lookup` reads an environment variable; `secrets` makes the Secrets Manager client
    for tenants whose token is a secret (without one they are refused), `secret_cache` keeps their
    values (default: the process's). `rights` reads each tenant's published rights (default: from
    the snapshot `store.open_snapshot` finds, checked every 5 s); `prices` the buyers' prices (default:
    from the snapshot `rights` reads); `customers` the customers lookups find (default: likewise)."""
    committer = GroupCommitter(outbox, actor=ACTOR, clock=clock, linger_seconds=linger_seconds)
    admission = Admission(tenants, token_lookup, secrets=secrets, secret_cache=secret_cache)
    intake = Intake(admission, committer, rights=rights, prices=prices)
    lookup = CustomerLookup(
        admission,
        customers or PublishedCustomers(intake.rights.snapshot_for, clock=intake.rights.clock),
        LookupRates(clock=clock),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await committer.start()
        try:
            yield
        finally:
            await committer.stop()

    app = Starlette(
        routes=[
            Route("/tenants/{tenant}/orders", intake.post_order, methods=["POST"]),
            Route("/tenants/{tenant}/orders/batch", intake.post_batch, methods=["POST"]),
            Route("/tenants/{tenant}/customers/lookup", lookup.post, methods=["POST"]),
            Route("/openapi.json", intake.openapi, methods=["GET"]),
            Route("/health", intake.health, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.intake = intake
    app.state.committer = committer
    return app
