"""Who may hand the intake orders: the tenant named in the path, if the request carries its token.

Each tenant's bearer token comes from its `intake_token_env` or `intake_token_secret` (AWS Secrets
Manager), read by `config/secrets.resolve_token`: a secret is kept 5 minutes, read in a worker thread
when it must be fetched, and read again at once (at most every 30 s) when a presented token does not
match, so a rotation is followed within seconds of the web shop's switch. A secret that cannot be
read refuses the tenant's orders with 401 (the log names the secret and the cause; the answer does
not), or with 503 and `Retry-After` when Secrets Manager is only unavailable.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable

from starlette.requests import Request

from sonet_pipeline.config.secrets import (
    REFRESH_MIN_SECONDS,
    SECRET_CACHE,
    ClientFactory,
    SecretCache,
    TokenSource,
    TokenUnavailable,
    resolve_token,
)
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.answers import RETRY_AFTER_SECONDS, Refusal, error_response, unauthorized

log = logging.getLogger(__name__)


class Admission:
    """The intake's tenants and how their tokens are read."""

    def __init__(
        self,
        tenants: list[Tenant],
        token_lookup: Callable[[str], str | None],
        secrets: ClientFactory | None = None,
        secret_cache: SecretCache | None = None,
    ) -> None:
        self.tenants = {tenant.name: tenant for tenant in tenants}
        self.token_lookup = token_lookup
        self.secrets = secrets
        self.secret_cache = secret_cache or SECRET_CACHE

    async def admit(self, request: Request) -> Tenant:
        """The tenant named in the path, if the request carries its token; else a `Refusal` (404/401/503)."""
        name = request.path_params["tenant"]
        tenant = self.tenants.get(name)
        if tenant is None:
            raise Refusal(error_response(404, "UNKNOWN_TENANT", f"no tenant named {name[:40]!r}"))
        source = tenant.intake_token_source()
        if source is None:
            why = "it has no intake_token_env or intake_token_secret"
            log.warning("tenant %s: intake refused a request: %s", name, why)
            raise Refusal(unauthorized(f"the intake takes no orders for tenant {name!r}: {why}"))
        expected = await self._expected_token(name, source)
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Refusal(unauthorized("an Authorization: Bearer <token> header is required"))
        matches = hmac.compare_digest(_bytes(presented.strip()), _bytes(expected))
        if (
            not matches
            and source.secret is not None
            and not self.secret_cache.fresh(source.secret, max_age=REFRESH_MIN_SECONDS)
        ):
            # Perhaps the secret was rotated and the web shop already uses the new token: read it again.
            expected = await self._expected_token(name, source, max_age=REFRESH_MIN_SECONDS)
            matches = hmac.compare_digest(_bytes(presented.strip()), _bytes(expected))
        if not matches:
            log.warning("tenant %s: a request with a wrong intake token", name)
            raise Refusal(unauthorized("the bearer token is not this tenant's intake token"))
        return tenant

    async def _expected_token(self, name: str, source: TokenSource, *, max_age: float | None = None) -> str:
        """The tenant's intake token; a secret that must be fetched is read in a worker thread."""
        try:
            if source.secret is not None and not self.secret_cache.fresh(source.secret, max_age=max_age):
                return await asyncio.to_thread(self._resolve, source, max_age)
            return self._resolve(source, max_age)
        except TokenUnavailable as exc:
            log.warning("tenant %s: intake refused a request: %s", name, exc)
            if exc.transient:
                message = "the tenant's intake token cannot be read right now; retry later"
                headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
                raise Refusal(error_response(503, "TOKEN_UNAVAILABLE", message, headers=headers)) from None
            if source.secret is None:
                why = f"environment variable {source.env} is not set"
            else:  # the answer does not name the secret (its ARN names the account); the log does
                why = "its intake token cannot be read from AWS Secrets Manager (the intake's log says why)"
            raise Refusal(unauthorized(f"the intake takes no orders for tenant {name!r}: {why}")) from None

    def _resolve(self, source: TokenSource, max_age: float | None) -> str:
        token = resolve_token(
            source, env=self.token_lookup, secrets=self.secrets, cache=self.secret_cache, max_age=max_age
        )
        return token.get_secret_value()


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")
