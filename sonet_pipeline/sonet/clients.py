"""The one place that builds a Sonet client for a tenant: the Dagster resource, the CLI and reconcile
all come here, so every client of a tenant's API has the same timeout, retry policy and the process's
one throttle for that API (`throttle_for`).

`SonetAccess` is what a client needs of one tenant's API; `SonetAccess.of(tenant, api)` reads it from
the tenants file and the token from its source, an environment variable or a Secrets Manager secret
(the CLI's way, through `config/secrets.resolve_token` with the CLI's boto3 client); the Dagster resource
builds it from fields it was given, the token bound as an `EnvVar` or read through the secrets
resource bound in `definitions.py`, by the same `resolve_token`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.secrets import ClientFactory, resolve_token
from sonet_pipeline.config.tenants import ApiLimits, Tenant
from sonet_pipeline.sonet.message import SonetMessageClient
from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.sonet.retry import RetryPolicy
from sonet_pipeline.sonet.throttle import Throttle, throttle_for

Api = Literal["query", "message"]
QUERY_API: Api = "query"
MESSAGE_API: Api = "message"
#: Every request's timeout, unless the deployment says otherwise.
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class SonetAccess:
    """One tenant's access to one Sonet API: where it is, the token, and the limits its clients keep to."""

    tenant: str
    api: Api
    base_url: str
    company: str
    token: str = field(repr=False)
    #: Where the token comes from (`environment variable X`, `Secrets Manager secret ID`): named in
    #: errors, never the value.
    token_from: str
    limits: ApiLimits
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def of(
        cls,
        tenant: Tenant,
        api: Api,
        *,
        token: str | None = None,
        secrets: ClientFactory | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> SonetAccess:
        """`tenant`'s access to `api`, the token read from its source unless given: `sonet.token_env`,
        or `sonet.token_secret` through a client from `secrets` (a boto3 Secrets Manager client)."""
        sonet = tenant.sonet
        source = tenant.sonet_token_source()
        return cls(
            tenant=tenant.name,
            api=api,
            base_url=sonet.base_url,
            company=sonet.company,
            token=token if token is not None else resolve_token(source, secrets=secrets).get_secret_value(),
            token_from=source.describe(),
            limits=api_limits(tenant, api),
            timeout_seconds=timeout_seconds,
        )

    def throttle(self, clock: Clock | None = None) -> Throttle:
        """The process's one throttle for this installation, company and API."""
        limits = self.limits
        return throttle_for((self.base_url, self.company, self.api), limits.rate, limits.burst, limits.in_flight, clock)


def api_limits(tenant: Tenant, api: Api) -> ApiLimits:
    """The limits the tenant's file sets for `api`."""
    return tenant.sonet.query_limits if api == QUERY_API else tenant.sonet.message_limits


def query_client(
    access: SonetAccess, *, clock: Clock | None = None, retry: RetryPolicy | None = None
) -> SonetQueryClient:
    """A Query API client (close it, or use `with`); `retry` defaults to the sync's policy."""
    return SonetQueryClient(
        **_connection(access, QUERY_API, clock),
        retry=retry or RetryPolicy(),
        credentials_hint=f"check the token in {access.token_from}",
    )


def message_client(access: SonetAccess, *, clock: Clock | None = None) -> SonetMessageClient:
    """A Message API client (close it, or use `with`)."""
    return SonetMessageClient(**_connection(access, MESSAGE_API, clock))


class _Connection(TypedDict):
    """What every client is built with."""

    tenant: str
    base_url: str
    company: str
    token: str
    throttle: Throttle
    timeout_seconds: float
    clock: Clock | None


def _connection(access: SonetAccess, api: Api, clock: Clock | None) -> _Connection:
    if access.api != api:
        raise ValueError(f"tenant {access.tenant!r}: a {api} client needs {api} API access, not {access.api}")
    return _Connection(
        tenant=access.tenant,
        base_url=access.base_url,
        company=access.company,
        token=access.token,
        throttle=access.throttle(clock),
        timeout_seconds=access.timeout_seconds,
        clock=clock,
    )
