"""The Sonet Query API as a Dagster resource: one per tenant, the token bound once as an `EnvVar`.

`client()` hands out a `SonetQueryClient` that shares the process's one throttle for the tenant's
Query API with every other client of it (`throttle_for`). Use it as `with sonet.client() as client:`.
"""

from __future__ import annotations

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.retry import RetryPolicy
from sonet_pipeline.sonet_query import SonetQueryClient
from sonet_pipeline.tenants import Tenant
from sonet_pipeline.throttle import throttle_for

QUERY_API = "query"


class SonetQueryResource(ConfigurableResource):
    """One tenant's Sonet Query API: where it is, the token, and the limits its clients keep to."""

    tenant: str = Field(description="The tenant's name, for messages and logs")
    base_url: str = Field(description="The Sonet installation's base URL")
    company: str = Field(description="The Sonet company code (X-Sonet-Company)")
    token: str = Field(repr=False, description="The Sonet API token; bind with EnvVar, never a literal")
    token_env: str = Field(description="The environment variable that holds the token, named in errors")
    rate: float = Field(gt=0, description="Requests per second the client keeps to")
    burst: int = Field(ge=1, description="Requests the client may send at once after a quiet spell")
    in_flight: int = Field(ge=1, description="Requests in flight at once, across the process")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of every request")

    def client(self, clock: Clock | None = None, retry: RetryPolicy | None = None) -> SonetQueryClient:
        """A client of this tenant's Query API; close it (or use `with`) when done."""
        throttle = throttle_for((self.base_url, self.company, QUERY_API), self.rate, self.burst, self.in_flight, clock)
        return SonetQueryClient(
            tenant=self.tenant,
            base_url=self.base_url,
            company=self.company,
            token=self.token,
            throttle=throttle,
            timeout_seconds=self.timeout_seconds,
            retry=retry or RetryPolicy(),
            clock=clock,
            credentials_hint=f"check the token in {self.token_env}",
        )

    @classmethod
    def for_tenant(cls, tenant: Tenant, *, timeout_seconds: float = 30.0) -> SonetQueryResource:
        """The resource of `tenant`'s config, its token read from `sonet.token_env` when Dagster binds it."""
        sonet = tenant.sonet
        return cls(
            tenant=tenant.name,
            base_url=sonet.base_url,
            company=sonet.company,
            token=EnvVar(sonet.token_env),
            token_env=sonet.token_env,
            rate=sonet.query_limits.rate,
            burst=sonet.query_limits.burst,
            in_flight=sonet.query_limits.in_flight,
            timeout_seconds=timeout_seconds,
        )
