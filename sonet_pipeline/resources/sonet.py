"""Every tenant's Sonet APIs as one typed resource that hands out a client of one tenant's API.

Assets take it as `sonet: SonetResource` and ask `sonet.query_client(tenant, clock)` or
`sonet.message_client(tenant, clock)`; the clients come from the one factory (`sonet/clients.py`).
Each tenant's token is bound once, in `definitions.py` (`for_tenants`): as an `EnvVar` of the variable
its file names (`sonet.token_env`), or, for `sonet.token_secret`, read when a client is made through
dagster-aws's `SecretsManagerResource` (nested here as `secrets`), by the same `resolve_token` the CLI
uses, cached in the process for 5 minutes. The UI shows the variable's name or the secret's ARN or
name, never a value.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Self

from dagster import BetaWarning, Config, ConfigurableResource, EnvVar
from dagster_aws.secretsmanager import SecretsManagerResource
from pydantic import Field

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.secrets import SecretRef, SecretsClient, TokenSource, resolve_token
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

# Used knowingly (dagster-aws is pinned below 0.30): said once here, not at every run's resource set-up.
warnings.filterwarnings("ignore", message="Class `SecretsManagerResource` is currently in beta", category=BetaWarning)


class ApiLimitsConfig(Config):
    """A client-side throttle, as the tenant's file sets it."""

    rate: float = Field(gt=0, description="Requests per second the clients keep to")
    burst: int = Field(ge=1, description="Requests the clients may send at once after a quiet spell")
    in_flight: int = Field(ge=1, description="Requests in flight at once, across the process")


class SonetTenantConfig(Config):
    """One tenant's Sonet installation: where it is, the company, the token and each API's limits."""

    base_url: str = Field(description="The Sonet installation's base URL")
    company: str = Field(description="The Sonet company code (X-Sonet-Company)")
    token: str | None = Field(
        default=None,
        repr=False,
        description="The Sonet API token when it comes from token_env: an EnvVar, never a literal",
    )
    token_env: str | None = Field(default=None, description="The environment variable that holds the token")
    token_secret: str | None = Field(
        default=None, description="Or: the Secrets Manager secret (ARN or name) that holds it, read through `secrets`"
    )
    token_secret_key: str | None = Field(default=None, description="The JSON key of the token in that secret, if any")
    query_limits: ApiLimitsConfig
    message_limits: ApiLimitsConfig


class SonetResource(ConfigurableResource):
    """Every tenant's Sonet Query and Message APIs, keyed by tenant name."""

    tenants: dict[str, SonetTenantConfig] = Field(description="Per tenant name, its Sonet installation")
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, description="Timeout of every request")
    secrets: SecretsManagerResource = Field(description="AWS Secrets Manager, for tenants whose token is a secret")

    @classmethod
    def for_tenants(
        cls,
        tenants: Sequence[Tenant],
        *,
        secrets: SecretsManagerResource | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> Self:
        """The resource of these tenants' files: each token an `EnvVar` of its `sonet.token_env`, or its
        `sonet.token_secret` read through `secrets` (default: a `SecretsManagerResource` on boto3's chain)."""
        return cls(
            tenants={t.name: _tenant_config(t) for t in tenants},
            timeout_seconds=timeout_seconds,
            secrets=secrets if secrets is not None else SecretsManagerResource(),
        )

    def access(self, tenant: str, api: Api) -> SonetAccess:
        """What a client of `tenant`'s `api` needs; a tenant this resource does not know is an error."""
        config = self.tenants.get(tenant)
        if config is None:
            raise KeyError(f"the Sonet resource has no tenant {tenant!r}; it has {sorted(self.tenants)}")
        limits = config.query_limits if api == QUERY_API else config.message_limits
        source = _token_source(tenant, config)
        # The EnvVar Dagster bound is this resource's environment; a secret comes through `secrets`.
        bound = {config.token_env: config.token} if config.token_env and config.token else {}
        token = resolve_token(source, env=bound.get, secrets=self._secrets_client)
        return SonetAccess(
            tenant=tenant,
            api=api,
            base_url=config.base_url,
            company=config.company,
            token=token.get_secret_value(),
            token_from=source.describe(),
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

    def _secrets_client(self) -> SecretsClient:
        client: SecretsClient = self.secrets.get_client()
        return client


def _tenant_config(tenant: Tenant) -> SonetTenantConfig:
    sonet = tenant.sonet
    secret = sonet.token_secret
    return SonetTenantConfig(
        base_url=sonet.base_url,
        company=sonet.company,
        token=EnvVar(sonet.token_env) if sonet.token_env else None,
        token_env=sonet.token_env,
        token_secret=secret.id if secret else None,
        token_secret_key=secret.key if secret else None,
        query_limits=_limits_config(api_limits(tenant, QUERY_API)),
        message_limits=_limits_config(api_limits(tenant, MESSAGE_API)),
    )


def _token_source(tenant: str, config: SonetTenantConfig) -> TokenSource:
    secret = SecretRef(id=config.token_secret, key=config.token_secret_key) if config.token_secret else None
    return TokenSource(f"tenant {tenant!r}: sonet token", env=None if secret else config.token_env, secret=secret)


def _limits_config(limits: ApiLimits) -> ApiLimitsConfig:
    return ApiLimitsConfig(rate=limits.rate, burst=limits.burst, in_flight=limits.in_flight)
