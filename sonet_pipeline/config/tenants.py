"""Tenant configuration: one merchant per entry, read from YAML, validated on load.

The file (or a folder of files) is found through `SONET_PIPELINE_TENANTS`; by default the shipped
demo tenants. A file holds `tenants: [...]` or one tenant mapping. Every error names the file, the
tenant and the field. Tokens live in environment variables or AWS Secrets Manager secrets named by
the config (`secrets.py` reads them), never in the file, and never appear in an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sonet_pipeline.config import settings
from sonet_pipeline.config.alerts import AlertChannels
from sonet_pipeline.config.errors import TenantConfigError
from sonet_pipeline.config.extensions import Extensions
from sonet_pipeline.config.owners import checked_owners, deployment_owners
from sonet_pipeline.config.retention import TenantRetention
from sonet_pipeline.config.secrets import ClientFactory, SecretRef, TokenSource, resolve_token
from sonet_pipeline.config.shop import ShopConfig

__all__ = [
    "ApiLimits",
    "CustomerLookup",
    "OrderPrices",
    "OrderRights",
    "SonetConnection",
    "Tenant",
    "TenantConfigError",
    "load_tenants",
    "tenant_by_name",
]

ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
TENANT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


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
    #: The env var holding the bearer token; or, instead, `token_secret` (exactly one of the two).
    token_env: str | None = Field(default=None, pattern=ENV_VAR_PATTERN)
    #: The Secrets Manager secret holding the bearer token: an ARN, a name, or `{id: ..., key: ...}`.
    token_secret: SecretRef | None = None
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

    @model_validator(mode="after")
    def _one_token_source(self) -> SonetConnection:
        if (self.token_env is None) == (self.token_secret is None):
            raise ValueError("give exactly one of token_env (an environment variable) and token_secret (a secret)")
        return self


class OrderRights(_Strict):
    """How the intake and `orders enqueue` apply the shop's published rights to each order
    (`intake/rights_gate.py`). The rights themselves are the `shop.rights` rules."""

    #: An order the rights do not allow: `refuse` (HTTP 422 NOT_ALLOWED, nothing stored), or
    #: `store_failed` (kept as a `failed` message, code NOT_ALLOWED, never sent unless an operator resends it).
    not_allowed: Literal["refuse", "store_failed"] = "refuse"
    #: Whether guest orders (`customer.kind: guest`) are taken; when false they are NOT_ALLOWED.
    guest_orders: bool = True


class OrderPrices(_Strict):
    """What the intake and `orders enqueue` do with an order whose line is not at the buyer's price at
    its `createdAt` (`prices/order_check.py`, `intake/price_gate.py`)."""

    #: `flag` (taken; the answer, the outbox and the order status name the lines) or `refuse` (HTTP 422
    #: PRICE_MISMATCH, nothing stored).
    mismatch: Literal["flag", "refuse"] = "flag"


class CustomerLookup(_Strict):
    """The intake's `POST /tenants/{tenant}/customers/lookup`: its rate per intake token."""

    #: Lookups a minute each token may make, on average.
    per_minute: float = Field(default=60, gt=0, le=60_000)
    #: Lookups a token may make at once after a quiet spell.
    burst: int = Field(default=10, ge=1, le=10_000)


class Tenant(_Strict):
    name: str = Field(pattern=TENANT_NAME_PATTERN)
    sonet: SonetConnection
    variant_strategy: Literal["item_per_variant", "comment_field"] = "item_per_variant"
    sync_every_seconds: int = Field(default=60, ge=60, le=86_400)
    send_every_seconds: int = Field(default=60, ge=10, le=86_400)
    #: How far each sync re-reads before its high-water mark: the contract's 90 s lag plus clock skew.
    lookback_seconds: int = Field(default=120, ge=90, le=86_400)
    #: The env var holding the bearer token the web shop uses on the intake; or `intake_token_secret`.
    intake_token_env: str | None = Field(default=None, pattern=ENV_VAR_PATTERN)
    #: The Secrets Manager secret holding the intake token (an ARN, a name, or `{id: ..., key: ...}`).
    intake_token_secret: SecretRef | None = None
    #: How long transient send failures are retried before a message becomes `failed`.
    send_retry_hours: float = Field(default=24, gt=0, le=24 * 30)
    #: How the records become the web shop's view: variant options, rights rules, where to publish.
    shop: ShopConfig = ShopConfig()
    #: What the intake does with an order the published rights do not allow, and whether guests may order.
    order_rights: OrderRights = OrderRights()
    #: What the intake does with an order line not at the buyer's price (flag it, or refuse the order).
    order_prices: OrderPrices = OrderPrices()
    #: The rate of the intake's customer lookup for registration.
    customer_lookup: CustomerLookup = CustomerLookup()
    #: How long the store's history, settled outbox orders and archived messages are kept (retention.py).
    retention: TenantRetention = TenantRetention()
    #: Where this tenant's alerts go (a webhook, e-mail), besides the deployment's default (config/alerts.py).
    alerts: AlertChannels | None = None
    #: Who answers for the tenant's assets (e-mails or `team:<name>`); unset: the deployment's
    #: (`SONET_PIPELINE_OWNERS`, `config/owners.py`).
    owners: list[str] | None = Field(default=None, min_length=1)
    #: Partner extensions by point (`config/extensions.py`, docs/extensions.md); none by default.
    extensions: Extensions = Extensions()

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else checked_owners(value)

    @field_validator("sync_every_seconds")
    @classmethod
    def _whole_minutes(cls, value: int) -> int:
        if value % 60:
            raise ValueError(f"must be a multiple of 60, got {value}")
        return value

    @field_validator("intake_token_secret")
    @classmethod
    def _one_intake_token_source(cls, value: SecretRef | None, info: ValidationInfo) -> SecretRef | None:
        if value is not None and info.data.get("intake_token_env") is not None:
            raise ValueError("give at most one of intake_token_env and intake_token_secret")
        return value

    def asset_owners(self) -> list[str]:
        """The owners of the tenant's assets: its own `owners`, else the deployment's."""
        return list(self.owners) if self.owners is not None else deployment_owners()

    def sonet_token_source(self) -> TokenSource:
        """Where the Sonet bearer token comes from: `sonet.token_env` or `sonet.token_secret`."""
        return TokenSource(
            f"tenant {self.name!r}: sonet token", env=self.sonet.token_env, secret=self.sonet.token_secret
        )

    def intake_token_source(self) -> TokenSource | None:
        """Where the intake's bearer token comes from, or None: the tenant takes no orders at the intake."""
        if self.intake_token_env is None and self.intake_token_secret is None:
            return None
        return TokenSource(
            f"tenant {self.name!r}: intake token", env=self.intake_token_env, secret=self.intake_token_secret
        )

    def sonet_token(self, secrets: ClientFactory | None = None) -> SecretStr:
        """The Sonet bearer token, from the environment or from Secrets Manager through a client from
        `secrets`; the error (`TokenUnavailable`, a `TenantConfigError`) names the source, never a value."""
        return resolve_token(self.sonet_token_source(), secrets=secrets)


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
