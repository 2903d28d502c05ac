"""Where alerts go: a tenant's `alerts:` section, and the deployment's default channels from the environment.

A tenant's section (every key optional; docs/alerts.md shows the webhook's JSON and each incident):

```yaml
alerts:
  webhook: https://hooks.example.com/T0/B0/xyz   # POST, JSON
  email:
    host: smtp.example.com
    port: 587                     # default 587
    security: starttls            # starttls (default), ssl, or none
    from: pipeline@example.com
    to: [ops@example.com, merchant@example.com]
    username: pipeline            # optional; with it, exactly one of:
    password_env: ACME_SMTP_PASSWORD            # the environment variable holding the password
    # password_secret: arn:aws:secretsmanager:...  # or the Secrets Manager secret holding it
  incidents: [run_failed, order_failed, credentials_refused, sync_stale, check_failed]   # default: all
  notify_cleared: true            # one more message when a lasting incident clears (default true)
```

The deployment's default, for every tenant and for incidents of no tenant, from the environment:
`SONET_PIPELINE_ALERT_WEBHOOK_URL`, and `SONET_PIPELINE_ALERT_SMTP_HOST`, `..._SMTP_PORT`,
`..._SMTP_SECURITY`, `..._SMTP_FROM`, `..._SMTP_TO` (addresses separated by commas), `..._SMTP_USERNAME`,
with the password in `SONET_PIPELINE_ALERT_SMTP_PASSWORD` itself. A tenant's incidents go to its own
channels and to the deployment's. Passwords never appear in the config, an error or a log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sonet_pipeline.config.errors import TenantConfigError
from sonet_pipeline.config.secrets import SecretRef, TokenSource

ENV_PREFIX = "SONET_PIPELINE_ALERT_"
WEBHOOK_URL_ENV = ENV_PREFIX + "WEBHOOK_URL"
#: The deployment's SMTP password: the variable itself holds it (bound as a Dagster `EnvVar`).
SMTP_PASSWORD_ENV = ENV_PREFIX + "SMTP_PASSWORD"

IncidentKind = Literal["run_failed", "order_failed", "credentials_refused", "sync_stale", "check_failed"]
INCIDENT_KINDS: tuple[IncidentKind, ...] = (
    "run_failed",
    "order_failed",
    "credentials_refused",
    "sync_stale",
    "check_failed",
)
_ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$")


class AlertConfigError(TenantConfigError):
    """An alert setting is wrong; the message names the variable or the tenant's field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EmailChannel(_Strict):
    """E-mail over SMTP: the server, the sender, the recipients, and where the password comes from."""

    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.\-\[\]:]+$")
    port: int = Field(default=587, ge=1, le=65_535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: str = Field(alias="from")
    to: tuple[str, ...] = Field(min_length=1, max_length=50)
    username: str | None = Field(default=None, min_length=1)
    #: The environment variable holding the password; or `password_secret`; or neither (no login).
    password_env: str | None = Field(default=None, pattern=_ENV_VAR)
    password_secret: SecretRef | None = None

    @field_validator("sender")
    @classmethod
    def _one_address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(f"must be one e-mail address (name@example.com), got {value!r}")
        return value

    @field_validator("to", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            wrong = [v for v in value if not isinstance(v, str) or not _ADDRESS.match(v)]
            if wrong:
                raise ValueError(f"must list e-mail addresses (name@example.com); not one: {wrong[0]!r}")
        return value

    @model_validator(mode="after")
    def _password_with_username(self) -> EmailChannel:
        sources = [s for s in (self.password_env, self.password_secret) if s is not None]
        if len(sources) > 1:
            raise ValueError("give at most one of password_env and password_secret")
        if sources and self.username is None:
            raise ValueError("a password needs a username to log in with")
        if self.username is not None and not sources:
            raise ValueError("a username needs its password: give password_env or password_secret")
        return self

    def password_source(self, what: str) -> TokenSource | None:
        """Where the password comes from, or None: the server takes mail without a login."""
        if self.password_env is None and self.password_secret is None:
            return None
        return TokenSource(f"{what}: SMTP password", env=self.password_env, secret=self.password_secret)

    def describe(self) -> str:
        """The channel for logs: the server and the recipients, never a password."""
        return f"e-mail via {self.host}:{self.port} to {', '.join(self.to)}"


class AlertChannels(_Strict):
    """A tenant's `alerts:` section, or the deployment's default: where to notify, and of what."""

    webhook: str | None = None
    email: EmailChannel | None = None
    incidents: tuple[IncidentKind, ...] = INCIDENT_KINDS
    notify_cleared: bool = True

    @field_validator("webhook")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith(("http://", "https://")) or len(value) < 10):
            raise ValueError("must be an http:// or https:// URL")  # the URL may hold a token: not echoed
        return value

    @model_validator(mode="after")
    def _a_channel(self) -> AlertChannels:
        if self.webhook is None and self.email is None:
            raise ValueError("give a webhook, an email, or both (or leave the alerts section out)")
        return self

    def wants(self, kind: str) -> bool:
        return kind in self.incidents


def webhook_host(url: str) -> str:
    """The webhook for logs: its scheme and host only (the path of a webhook often is its secret)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rsplit('@', 1)[-1]}"


def deployment_alerts(environ: Mapping[str, str] | None = None) -> AlertChannels | None:
    """The deployment's default channels from `environ` (default: the process's), or None when none is
    set. A wrong value raises `AlertConfigError` naming the variable, never a password."""
    environ = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return (environ.get(ENV_PREFIX + name) or "").strip() or None

    given: dict[str, Any] = {}
    if get("WEBHOOK_URL"):
        given["webhook"] = get("WEBHOOK_URL")
    smtp = {
        field: get(f"SMTP_{name}")
        for field, name in (
            ("host", "HOST"),
            ("port", "PORT"),
            ("security", "SECURITY"),
            ("from", "FROM"),
            ("to", "TO"),
            ("username", "USERNAME"),
        )
    }
    smtp = {field: value for field, value in smtp.items() if value is not None}
    if "username" in smtp:
        if not environ.get(SMTP_PASSWORD_ENV):
            raise AlertConfigError(
                f"alert settings from the environment: {ENV_PREFIX}SMTP_USERNAME needs {SMTP_PASSWORD_ENV}"
            )
        smtp["password_env"] = SMTP_PASSWORD_ENV
    if smtp:
        given["email"] = smtp
    if not given:
        return None
    try:
        return AlertChannels.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(_env_problem(error) for error in exc.errors())
        raise AlertConfigError(f"alert settings from the environment: {problems}") from None


_ENV_OF_FIELD = {
    "webhook": "WEBHOOK_URL",
    "host": "SMTP_HOST",
    "port": "SMTP_PORT",
    "security": "SMTP_SECURITY",
    "from": "SMTP_FROM",
    "sender": "SMTP_FROM",
    "to": "SMTP_TO",
    "username": "SMTP_USERNAME",
}


def _env_problem(error: Any) -> str:
    named = [_ENV_OF_FIELD[str(part)] for part in error["loc"] if str(part) in _ENV_OF_FIELD]
    where = ENV_PREFIX + named[-1] if named else ENV_PREFIX + "SMTP_*"
    message = str(error["msg"])
    if error["type"] == "missing":
        message = "is not set (needed with the other SMTP settings)"
    return f"{where}: {message}"
