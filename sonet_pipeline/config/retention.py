"""Retention: how long the pipeline keeps what it no longer needs, per tenant and for the deployment.

A tenant's `retention:` section (every key optional; what it leaves out takes the deployment default):

```yaml
retention:
  history_days: 90            # the store's change history (previous versions of records)
  settled_orders_days: 90     # outbox messages Sonet accepted (`sent`) this long ago
  archive_days: forever       # archived SalesOrder messages and Sonet's answers
```

Deployment settings, from the environment of the process that runs the retention job (defaults in
brackets): `SONET_PIPELINE_RETENTION_SUCCESS_RUN_DAYS` [1] and `..._FAILED_RUN_DAYS` [14] for Dagster
runs (failed and canceled ones are kept longer, to be looked into), `..._HISTORY_DAYS` [90],
`..._SETTLED_ORDERS_DAYS` [90] and `..._ARCHIVE_DAYS` [365] as the tenants' defaults,
`..._BATCH_SIZE` [500] (rows or runs deleted per transaction) and `..._CRON` ["15 3 * * *"] (when the
retention schedule runs). Days may be fractional (`0.5`: twelve hours); `forever` keeps that kind.
What is pending, sending or failed in the outbox, and a run in progress, are never deleted, whatever
the ages. docs/retention.md explains each kind.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from sonet_pipeline.config.errors import TenantConfigError

ENV_PREFIX = "SONET_PIPELINE_RETENTION_"
FOREVER = "forever"

MAX_DAYS = 36_500


def _days(value: object) -> float | str:
    """A retention age as written: a number of days more than 0 (at most 100 years), or `forever`."""
    if isinstance(value, str) and value.strip().lower() == FOREVER:
        return FOREVER
    try:
        days = float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else None
    except ValueError:
        days = None
    if days is None or not 0 < days <= MAX_DAYS:
        raise ValueError(f"must be a number of days more than 0 and at most {MAX_DAYS}, or '{FOREVER}'; got {value!r}")
    return days


#: A retention age in days, or "forever".
Days = Annotated[float | Literal["forever"], BeforeValidator(_days)]


class RetentionConfigError(TenantConfigError):
    """A retention setting is wrong; the message names the variable or the tenant's field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantRetention(_Strict):
    """A tenant's `retention:` section; None takes the deployment default."""

    history_days: Days | None = None
    settled_orders_days: Days | None = None
    archive_days: Days | None = None


class DeploymentRetention(_Strict):
    """The deployment's retention settings (environment variables `SONET_PIPELINE_RETENTION_<FIELD>`)."""

    success_run_days: Days = 1
    failed_run_days: Days = 14
    history_days: Days = 90
    settled_orders_days: Days = 90
    archive_days: Days = 365
    batch_size: int = Field(default=500, ge=1, le=100_000)
    cron: str = "15 3 * * *"

    @field_validator("cron")
    @classmethod
    def _five_cron_fields(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5 or not all(re.fullmatch(r"[0-9A-Za-z*/,?-]+", f) for f in fields):
            raise ValueError(f"must be a cron schedule of five fields (minute hour day month weekday), got {value!r}")
        return " ".join(fields)

    def for_tenant(self, tenant: TenantRetention) -> ResolvedRetention:
        """The tenant's ages: its own where it sets one, else this deployment's."""
        return ResolvedRetention(
            history_days=_first(tenant.history_days, self.history_days),
            settled_orders_days=_first(tenant.settled_orders_days, self.settled_orders_days),
            archive_days=_first(tenant.archive_days, self.archive_days),
        )


@dataclass(frozen=True)
class ResolvedRetention:
    """One tenant's ages, every default applied."""

    history_days: float | str
    settled_orders_days: float | str
    archive_days: float | str


def env_name(field: str) -> str:
    """The environment variable of a deployment setting: `SONET_PIPELINE_RETENTION_<FIELD>`."""
    return ENV_PREFIX + field.upper()


def deployment_retention(environ: Mapping[str, str] | None = None) -> DeploymentRetention:
    """The deployment's settings from `environ` (default: the process's environment); an unset or empty
    variable takes the default. A wrong value raises `RetentionConfigError` naming the variable."""
    environ = os.environ if environ is None else environ
    given = {}
    for field in DeploymentRetention.model_fields:
        value = environ.get(env_name(field), "").strip()
        if value:
            given[field] = value
    try:
        return DeploymentRetention.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(f"{env_name(str(e['loc'][0]))}: {e['msg']}" for e in exc.errors())
        raise RetentionConfigError(f"retention settings from the environment: {problems}") from None


def cutoff(now: datetime, days: float | str) -> datetime | None:
    """The instant before which something `days` old goes, or None for `forever` (nothing goes)."""
    if days == FOREVER or isinstance(days, str):
        return None
    return now - timedelta(days=days)


def describe(days: float | str) -> str:
    """`90 days`, `0.5 days`, `forever`."""
    if isinstance(days, str):
        return days
    return f"{days:g} day" + ("" if days == 1 else "s")


def _first(own: float | str | None, default: float | str) -> float | str:
    return default if own is None else own
