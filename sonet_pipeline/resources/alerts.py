"""The alert channels' passwords as a resource, and the notifier the alert sensors send through.

Each SMTP password a channel names by environment variable (a tenant's `alerts.email.password_env`, the
deployment's `SONET_PIPELINE_ALERT_SMTP_PASSWORD`) is bound once, in `definitions.py`, as an `EnvVar`;
one named as a Secrets Manager secret is read through dagster-aws's `SecretsManagerResource`, by the
same `resolve_token` as the Sonet tokens. The UI shows the variable's name, never a value.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Self

from dagster import BetaWarning, Config, ConfigurableResource, EnvVar
from dagster_aws.secretsmanager import SecretsManagerResource
from pydantic import Field, SecretStr

from sonet_pipeline.alerts.notifier import Notifier
from sonet_pipeline.config.alerts import AlertChannels
from sonet_pipeline.config.secrets import SecretsClient, TokenSource, resolve_token
from sonet_pipeline.config.tenants import Tenant

warnings.filterwarnings("ignore", message="Class `SecretsManagerResource` is currently in beta", category=BetaWarning)


class BoundPassword(Config):
    value: str = Field(repr=False, description="The password: an EnvVar of the variable, never a literal")


class AlertsResource(ConfigurableResource):
    """The SMTP passwords of the alert channels, by environment variable; secrets through `secrets`."""

    passwords: dict[str, BoundPassword] = Field(
        default_factory=dict, description="Per environment variable a channel names, its value (an EnvVar)"
    )
    secrets: SecretsManagerResource | None = Field(default=None, description="For passwords kept as secrets")

    @classmethod
    def for_channels(cls, sections: Sequence[AlertChannels], *, secrets: SecretsManagerResource | None = None) -> Self:
        """Each password variable the sections name bound as an `EnvVar`."""
        names = sorted({s.email.password_env for s in sections if s.email is not None and s.email.password_env})
        return cls(passwords={name: BoundPassword(value=EnvVar(name)) for name in names}, secrets=secrets)

    def notifier(self, default: AlertChannels | None, tenants: Sequence[Tenant]) -> Notifier:
        sections = {t.name: t.alerts for t in tenants if t.alerts is not None}
        return Notifier(default=default, tenants=sections, password=self._password)

    def _password(self, source: TokenSource) -> SecretStr:
        bound: Mapping[str, str] = {name: p.value for name, p in self.passwords.items()}
        return resolve_token(source, env=bound.get, secrets=self._secrets_client if self.secrets else None)

    def _secrets_client(self) -> SecretsClient:
        assert self.secrets is not None
        client: SecretsClient = self.secrets.get_client()
        return client


def channel_sections(default: AlertChannels | None, tenants: Sequence[Tenant]) -> list[AlertChannels]:
    """Every section that may notify: the deployment's and each tenant's."""
    return [s for s in (default, *(t.alerts for t in tenants)) if s is not None]
