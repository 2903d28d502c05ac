"""Tenant configuration: one merchant per entry, read from YAML, validated on load.

The file (or a folder of files) is found through `SONET_PIPELINE_TENANTS`; by default the shipped
demo tenants. A file holds `tenants: [...]` or one tenant mapping. Every error names the file, the
tenant and the field. Tokens live in environment variables named by the config, never in the file,
and never appear in an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from sonet_pipeline.config import settings
from sonet_pipeline.config.shop import ShopConfig

ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
TENANT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


class TenantConfigError(ValueError):
    """The tenants configuration is wrong; the message names the file, the tenant and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiLimits(_Strict):
    """A client-side throttle: requests per second, burst, and requests in flight at once."""

    rate: float = Field(gt=0, le=10_000)
    burst: int = Field(ge=1, le=10_000)
    in_flight: int = Field(ge=1, le=64)


class SonetConnection(_Strict):
    base_url: str
    company: str = Field(min_length=1, max_length=40)
    token_env: str = Field(pattern=ENV_VAR_PATTERN)
    query_limits: ApiLimits = ApiLimits(rate=5, burst=10, in_flight=4)
    message_limits: ApiLimits = ApiLimits(rate=10, burst=20, in_flight=4)

    @field_validator("company", mode="before")
    @classmethod
    def _company_is_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f'must be a quoted string (write "{value}"; YAML reads 01 as the number 1)')
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")


class Tenant(_Strict):
    name: str = Field(pattern=TENANT_NAME_PATTERN)
    sonet: SonetConnection
    variant_strategy: Literal["item_per_variant", "comment_field"] = "item_per_variant"
    sync_every_seconds: int = Field(default=60, ge=60, le=86_400)
    send_every_seconds: int = Field(default=60, ge=10, le=86_400)
    #: How far each sync re-reads before its high-water mark: the contract's 90 s lag plus clock skew.
    lookback_seconds: int = Field(default=120, ge=90, le=86_400)
    #: The env var holding the bearer token the web shop uses on the intake.
    intake_token_env: str | None = Field(default=None, pattern=ENV_VAR_PATTERN)
    #: How long transient send failures are retried before a message becomes `failed`.
    send_retry_hours: float = Field(default=24, gt=0, le=24 * 30)
    #: How the records become the web shop's view: variant options, rights rules, where to publish.
    shop: ShopConfig = ShopConfig()

    @field_validator("sync_every_seconds")
    @classmethod
    def _whole_minutes(cls, value: int) -> int:
        if value % 60:
            raise ValueError(f"must be a multiple of 60, got {value}")
        return value

    def sonet_token(self) -> SecretStr:
        """The Sonet bearer token from the environment; the error names the variable, never a value."""
        return _secret_from_env(self.sonet.token_env, f"tenant {self.name!r}: sonet.token_env")


class TenantsFile(_Strict):
    tenants: list[Tenant] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> TenantsFile:
        names = [t.name for t in self.tenants]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"tenant names must be unique; repeated: {', '.join(duplicates)}")
        return self


def load_tenants(path: Path | str | None = None) -> list[Tenant]:
    """Every tenant of the file or folder at `path` (default: `settings.tenants_path()`)."""
    root = Path(path) if path is not None else settings.tenants_path()
    if root.is_dir():
        sources = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml"))
        if not sources:
            raise TenantConfigError(f"{root}: the tenants folder has no .yaml files")
    elif root.is_file():
        sources = [root]
    else:
        raise TenantConfigError(f"{root}: no tenants file or folder there (set {settings.TENANTS_ENV})")
    tenants = [tenant for source in sources for tenant in _load_file(source)]
    try:
        return TenantsFile(tenants=tenants).tenants
    except ValidationError as exc:
        raise TenantConfigError(f"{root}: {exc.errors()[0]['msg']}") from None


def tenant_by_name(tenants: list[Tenant], name: str) -> Tenant:
    for tenant in tenants:
        if tenant.name == name:
            return tenant
    known = ", ".join(t.name for t in tenants) or "none"
    raise TenantConfigError(f"no tenant named {name!r}; configured: {known}")


def _load_file(source: Path) -> list[Tenant]:
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TenantConfigError(f"{source}: not valid YAML: {exc}") from None
    if isinstance(document, dict) and "tenants" in document:
        entries = document["tenants"]
        if set(document) != {"tenants"}:
            extra = ", ".join(sorted(set(document) - {"tenants"}))
            raise TenantConfigError(f"{source}: unknown top-level key(s): {extra}")
    elif isinstance(document, dict) and "name" in document:
        entries = [document]
    else:
        raise TenantConfigError(f"{source}: expected 'tenants: [...]' or one tenant mapping with a 'name'")
    if not isinstance(entries, list) or not entries:
        raise TenantConfigError(f"{source}: 'tenants' must be a non-empty list")
    return [_parse_tenant(source, index, entry) for index, entry in enumerate(entries)]


def _parse_tenant(source: Path, index: int, entry: Any) -> Tenant:
    label = f"tenant #{index + 1}"
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        label = f"tenant {entry['name']!r}"
    try:
        return Tenant.model_validate(entry)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise TenantConfigError(f"{source}: {label}: {problems}") from None


def _describe(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(the entry)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling)"
    return f"field {field}: {message}"


def _secret_from_env(variable: str, what: str) -> SecretStr:
    value = os.environ.get(variable)
    if not value:
        raise TenantConfigError(f"{what}: environment variable {variable} is not set")
    return SecretStr(value)
