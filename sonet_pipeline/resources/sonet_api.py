"""What every Sonet API resource shares: one tenant's installation, company, token and client limits.

One resource per tenant and API, the token bound once as an `EnvVar` (`for_tenant`). Clients share
the process's one throttle per (base URL, company, API) with every other client of it (`throttle_for`).
"""

from __future__ import annotations

from typing import ClassVar, Self

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.tenants import ApiLimits, Tenant
from sonet_pipeline.sonet.throttle import Throttle, throttle_for


class SonetApiResource(ConfigurableResource):
    """One tenant's Sonet API: where it is, the token, and the limits its clients keep to."""

    #: "query" or "message": which of the tenant's limits apply, and the throttle's key.
    api: ClassVar[str]

    tenant: str = Field(description="The tenant's name, for messages and logs")
    base_url: str = Field(description="The Sonet installation's base URL")
    company: str = Field(description="The Sonet company code (X-Sonet-Company)")
    token: str = Field(repr=False, description="The Sonet API token; bind with EnvVar, never a literal")
    token_env: str = Field(description="The environment variable that holds the token, named in errors")
    rate: float = Field(gt=0, description="Requests per second the client keeps to")
    burst: int = Field(ge=1, description="Requests the client may send at once after a quiet spell")
    in_flight: int = Field(ge=1, description="Requests in flight at once, across the process")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of every request")

    def throttle(self, clock: Clock | None = None) -> Throttle:
        return throttle_for((self.base_url, self.company, self.api), self.rate, self.burst, self.in_flight, clock)

    @classmethod
    def limits_of(cls, tenant: Tenant) -> ApiLimits:
        return tenant.sonet.query_limits if cls.api == "query" else tenant.sonet.message_limits

    @classmethod
    def for_tenant(cls, tenant: Tenant, *, timeout_seconds: float = 30.0) -> Self:
        """The resource of `tenant`'s config, its token read from `sonet.token_env` when Dagster binds it."""
        sonet, limits = tenant.sonet, cls.limits_of(tenant)
        return cls(
            tenant=tenant.name,
            base_url=sonet.base_url,
            company=sonet.company,
            token=EnvVar(sonet.token_env),
            token_env=sonet.token_env,
            rate=limits.rate,
            burst=limits.burst,
            in_flight=limits.in_flight,
            timeout_seconds=timeout_seconds,
        )
