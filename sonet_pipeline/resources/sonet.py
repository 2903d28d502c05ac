"""Every tenant's Sonet APIs as one typed resource that hands out a client of one tenant's API.

Assets take it as `sonet: SonetResource` and ask `sonet.query_client(tenant, clock)` or
`sonet.message_client(tenant, clock)`; the clients come from the one factory (`sonet/clients.py`).
Each tenant's token is bound once as an `EnvVar` of the variable its file names (`for_tenants`, called
from `definitions.py`), so the UI shows the variable's name and never the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from dagster import Config, ConfigurableResource, EnvVar
from pydantic import Field

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.tenants import ApiLimits, Tenant
from sonet_pipeline.sonet.clients import (
    DEFAULT_TIMEOUT_SECONDS,
    MESSAGE_API,
    QUERY_API,
    Api,
    SonetAccess,
    api_limits,
    message_client,
    query_client,
)
from sonet_pipeline.sonet.message import SonetMessageClient
from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.sonet.retry import RetryPolicy


class ApiLimitsConfig(Config):
    """A client-side throttle, as the tenant's file sets it."""

    rate: float = Field(gt=0, description="Requests per second the clients keep to")
    burst: int = Field(ge=1, description="Requests the clients may send at once after a quiet spell")
    in_flight: int = Field(ge=1, description="Requests in flight at once, across the process")


class SonetTenantConfig(Config):
    """One tenant's Sonet installation: where it is, the company, the token and each API's limits."""

    base_url: str = Field(description="The Sonet installation's base URL")
    company: str = Field(description="The Sonet company code (X-Sonet-Company)")
    token: str = Field(repr=False, description="The Sonet API token; bound with EnvVar, never a literal")
    token_env: str = Field(description="The environment variable that holds the token, named in errors")
    query_limits: ApiLimitsConfig
    message_limits: ApiLimitsConfig


class SonetResource(ConfigurableResource):
    """Every tenant's Sonet Query and Message APIs, keyed by tenant name."""

    tenants: dict[str, SonetTenantConfig] = Field(description="Per tenant name, its Sonet installation")
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, description="Timeout of every request")

    @classmethod
    def for_tenants(cls, tenants: Sequence[Tenant], *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> Self:
        """The resource of these tenants' files, each token read from its `sonet.token_env` when Dagster binds it."""
        return cls(
            tenants={
                t.name: SonetTenantConfig(
                    base_url=t.sonet.base_url,
                    company=t.sonet.company,
                    token=EnvVar(t.sonet.token_env),
                    token_env=t.sonet.token_env,
                    query_limits=_limits_config(api_limits(t, QUERY_API)),
                    message_limits=_limits_config(api_limits(t, MESSAGE_API)),
                )
                for t in tenants
            },
            timeout_seconds=timeout_seconds,
        )

    def access(self, tenant: str, api: Api) -> SonetAccess:
        """What a client of `tenant`'s `api` needs; a tenant this resource does not know is an error."""
        config = self.tenants.get(tenant)
        if config is None:
            raise KeyError(f"the Sonet resource has no tenant {tenant!r}; it has {sorted(self.tenants)}")
        limits = config.query_limits if api == QUERY_API else config.message_limits
        return SonetAccess(
            tenant=tenant,
            api=api,
            base_url=config.base_url,
            company=config.company,
            token=config.token,
            token_env=config.token_env,
            limits=ApiLimits(rate=limits.rate, burst=limits.burst, in_flight=limits.in_flight),
            timeout_seconds=self.timeout_seconds,
        )

    def query_client(
        self, tenant: str, clock: Clock | None = None, retry: RetryPolicy | None = None
    ) -> SonetQueryClient:
        """A client of `tenant`'s Query API; close it (or use `with`) when done."""
        return query_client(self.access(tenant, QUERY_API), clock=clock, retry=retry)

    def message_client(self, tenant: str, clock: Clock | None = None) -> SonetMessageClient:
        """A client of `tenant`'s Message API; close it (or use `with`) when done."""
        return message_client(self.access(tenant, MESSAGE_API), clock=clock)


def _limits_config(limits: ApiLimits) -> ApiLimitsConfig:
    return ApiLimitsConfig(rate=limits.rate, burst=limits.burst, in_flight=limits.in_flight)
