"""Where a tenant's tokens come from, and the one place they are read: an environment variable or AWS
Secrets Manager.

A tenant's file names, for each token, exactly one source: `token_env: ACME_SONET_TOKEN` (an environment
variable) or `token_secret: ...` (a Secrets Manager secret: its ARN or its name, the whole secret
string being the token; or `{id: ..., key: ...}` for one JSON key of a secret that holds several
values). `resolve_token` reads either: the Dagster resource (with the client of dagster-aws's
`SecretsManagerResource`), the CLI and the intake (with a plain boto3 client the CLI makes) all come
here. This module never makes a client: it is given a factory, called only when a secret is read.

A secret's value is kept in the process for `SECRET_TTL_SECONDS` (5 minutes), so a rotated secret is
in use everywhere at most 5 minutes after the rotation, while a sync every minute costs one
`GetSecretValue` per secret and process every 5 minutes at most. The intake re-reads a secret at once
(at most every `REFRESH_MIN_SECONDS`) when a presented token does not match, so a web shop that
switched to the new token first is not refused for long.

No value ever appears in a repr, a log line or an error: errors name the variable or the secret (ARN
or name, and the JSON key) and the cause.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.config.errors import TenantConfigError

#: How long a secret's value is used before it is read again (a rotation is seen within this time).
SECRET_TTL_SECONDS = 300.0
#: A token that does not match makes the intake re-read its secret, but not more often than this.
REFRESH_MIN_SECONDS = 30.0

_NAME = r"[A-Za-z0-9/_+=.@-]{1,512}"
SECRET_NAME_PATTERN = re.compile(rf"^{_NAME}$")
SECRET_ARN_PATTERN = re.compile(rf"^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{{12}}):secret:{_NAME}$")
#: Answers of Secrets Manager that may succeed when asked again (the rest are configuration problems).
_TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "InternalServiceError", "InternalFailure", "ServiceUnavailable", "RequestTimeout"}
)


class TokenUnavailable(TenantConfigError):
    """A token cannot be read; the message names where it was looked for and why, never a value.

    `transient` is true when asking again later may succeed (Secrets Manager throttled, unreachable)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class SecretRef(BaseModel):
    """A Secrets Manager secret: its ARN or name (`id`), and the JSON key holding the token, if any."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    key: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """`token_secret: "acme/sonet"` is `{id: "acme/sonet"}`."""
        return {"id": value} if isinstance(value, str) else value

    @field_validator("id")
    @classmethod
    def _arn_or_name(cls, value: str) -> str:
        if value.startswith("arn:"):
            if not SECRET_ARN_PATTERN.match(value):
                raise ValueError(
                    f"{value!r} is not a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
                )
        elif not SECRET_NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a secret name (letters, digits and /_+=.@- only, at most 512)")
        return value

    @field_validator("key")
    @classmethod
    def _plain_key(cls, value: str | None) -> str | None:
        if value is not None and not 0 < len(value) <= 256:
            raise ValueError("a JSON key has 1 to 256 characters")
        return value

    @property
    def region(self) -> str | None:
        """The region an ARN names (None for a name: the client's region)."""
        match = SECRET_ARN_PATTERN.match(self.id)
        return match.group(1) if match else None

    def describe(self) -> str:
        return f"Secrets Manager secret {self.id}" + (f" (JSON key {self.key!r})" if self.key else "")


@dataclass(frozen=True)
class TokenSource:
    """Where one token comes from: exactly one of an environment variable and a secret.

    `what` says whose token it is in messages (`tenant 'acme': sonet token`)."""

    what: str
    env: str | None = None
    secret: SecretRef | None = None

    def __post_init__(self) -> None:
        if (self.env is None) == (self.secret is None):
            raise ValueError(f"{self.what}: give exactly one of an environment variable and a secret")

    def describe(self) -> str:
        """The source, for messages: `environment variable X` or `Secrets Manager secret ID`."""
        return self.secret.describe() if self.secret is not None else f"environment variable {self.env}"


class SecretsClient(Protocol):
    """What this module uses of a boto3 Secrets Manager client."""

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]: ...


#: Makes a Secrets Manager client when one is needed (none is made for tenants on environment variables).
ClientFactory = Callable[[], SecretsClient]


def read_secret(client: SecretsClient, ref: SecretRef) -> SecretStr:
    """The secret string `ref` names, read now with `client` (whole; the JSON key is `token_in`'s job).

    Raises `TokenUnavailable` naming the secret and the cause (never a value)."""
    client_region = getattr(getattr(client, "meta", None), "region_name", None)
    if ref.region and client_region and ref.region != client_region:
        raise TokenUnavailable(
            f"{ref.describe()} is in region {ref.region} but the Secrets Manager client is for {client_region}"
            " (set AWS_REGION, or the secrets resource's region_name, to the secret's region)"
        )
    try:
        answer = client.get_secret_value(SecretId=ref.id)
    except Exception as exc:
        raise _unavailable(ref, exc) from None
    text = answer.get("SecretString")
    if not isinstance(text, str):
        raise TokenUnavailable(f"{ref.describe()} holds binary data, not a string")
    return SecretStr(text)


def token_in(secret: SecretStr, ref: SecretRef) -> SecretStr:
    """The token within a secret's string: the whole string, or the value of its JSON key."""
    text = secret.get_secret_value()
    if ref.key is None:
        token = text.strip()
    else:
        try:
            document = json.loads(text)
        except ValueError:
            raise TokenUnavailable(f"{ref.describe()}: the secret is not a JSON object, so it has no keys") from None
        if not isinstance(document, dict):
            raise TokenUnavailable(f"{ref.describe()}: the secret is not a JSON object, so it has no keys")
        if ref.key not in document:
            keys = ", ".join(sorted(map(str, document))) or "none"
            raise TokenUnavailable(f"{ref.describe()}: the secret has no key {ref.key!r} (its keys: {keys})")
        value = document[ref.key]
        if not isinstance(value, str):
            raise TokenUnavailable(f"{ref.describe()}: the value of key {ref.key!r} is not a string")
        token = value.strip()
    if not token:
        raise TokenUnavailable(f"{ref.describe()} is empty")
    return SecretStr(token)


class SecretCache:
    """Secret strings by secret id, each used for `ttl_seconds` after it was read. Thread-safe."""

    def __init__(self, ttl_seconds: float = SECRET_TTL_SECONDS, clock: Clock | None = None) -> None:
        if ttl_seconds < 0:
            raise ValueError("a cache's ttl_seconds is 0 or more")
        self.ttl_seconds = ttl_seconds
        self.clock: Clock = clock or SystemClock()
        self._values: dict[str, tuple[float, SecretStr]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SecretCache(ttl_seconds={self.ttl_seconds}, secrets={len(self._values)})"

    def get(self, ref: SecretRef, client: ClientFactory, *, max_age: float | None = None) -> SecretStr:
        """The secret string of `ref`: from the cache if it is younger than `max_age` (default: the
        TTL), else read now through a client from `client`."""
        with self._lock:
            cached = self._values.get(ref.id)
        if cached is not None and self.clock.monotonic() - cached[0] < self._limit(max_age):
            return cached[1]
        value = read_secret(client(), ref)
        with self._lock:
            self._values[ref.id] = (self.clock.monotonic(), value)
        return value

    def age(self, ref: SecretRef) -> float | None:
        """Seconds since `ref` was read, or None when it is not cached."""
        with self._lock:
            cached = self._values.get(ref.id)
        return None if cached is None else self.clock.monotonic() - cached[0]

    def fresh(self, ref: SecretRef, *, max_age: float | None = None) -> bool:
        """Whether `get` would answer from the cache (no call to AWS)."""
        age = self.age(ref)
        return age is not None and age < self._limit(max_age)

    def _limit(self, max_age: float | None) -> float:
        return self.ttl_seconds if max_age is None else min(max_age, self.ttl_seconds)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


#: The process's cache: every caller that passes none shares it.
SECRET_CACHE = SecretCache()


def resolve_token(
    source: TokenSource,
    *,
    env: Callable[[str], str | None] = os.environ.get,
    secrets: ClientFactory | None = None,
    cache: SecretCache | None = None,
    max_age: float | None = None,
) -> SecretStr:
    """The token `source` names: the one place a tenant's token is read, whichever its source.

    `env` looks a variable up (default: this process's environment; Dagster passes what its `EnvVar`
    bound). `secrets` makes a Secrets Manager client when the token is a secret (required then).
    `cache` keeps secret strings (default: the process's, `SECRET_CACHE`); `max_age`
    asks for a value read at most that many seconds ago. Raises `TokenUnavailable` naming the source."""
    if source.secret is None:
        assert source.env is not None
        value = env(source.env)
        if not value:
            raise TokenUnavailable(f"{source.what}: environment variable {source.env} is not set")
        return SecretStr(value)
    ref = source.secret
    if secrets is None:
        raise TokenUnavailable(f"{source.what}: {ref.describe()}: no AWS Secrets Manager client to read it with")
    try:
        secret = (cache or SECRET_CACHE).get(ref, secrets, max_age=max_age)
        return token_in(secret, ref)
    except TokenUnavailable as exc:
        raise TokenUnavailable(f"{source.what}: {exc}", transient=exc.transient) from None


def _unavailable(ref: SecretRef, exc: Exception) -> TokenUnavailable:
    """Why reading `ref` failed, from a botocore error (read by duck typing: no botocore import here)."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = error.get("Code") if isinstance(error, dict) else None
    if code == "ResourceNotFoundException":
        return TokenUnavailable(f"{ref.describe()} does not exist (or is not visible to these AWS credentials)")
    if code in ("AccessDeniedException", "AccessDenied"):
        return TokenUnavailable(f"{ref.describe()}: access denied (the role needs secretsmanager:GetSecretValue)")
    if code is not None:
        message = str(error.get("Message") or "")[:200]
        return TokenUnavailable(
            f"{ref.describe()} cannot be read: {code}: {message}", transient=code in _TRANSIENT_CODES
        )
    names = {cls.__name__ for cls in type(exc).__mro__}
    transient = bool(names & {"ConnectionError", "HTTPClientError", "ConnectTimeoutError", "ReadTimeoutError"})
    return TokenUnavailable(f"{ref.describe()} cannot be read: {type(exc).__name__}: {exc}", transient=transient)
