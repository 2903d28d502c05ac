"""Tokens from an environment variable or AWS Secrets Manager (moto): the tenants file names exactly one
source per token, errors name the file, tenant, field or secret and never a value, and a secret's value
is kept briefly so a rotation is picked up within the cache's TTL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.secrets import (
    SECRET_TTL_SECONDS,
    SecretCache,
    SecretRef,
    TokenSource,
    TokenUnavailable,
    resolve_token,
)
from sonet_pipeline.config.tenants import TenantConfigError, load_tenants
from tests.conftest import AWS_TEST_REGION

TOKEN = "sonet-t0ken-from-secrets-9d2e"
SONET = "sonet: {base_url: 'http://127.0.0.1:8765', company: '01', %s}"


def write(tmp_path: Path, tenant: str) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants:\n  - name: acme\n    " + tenant + "\n", encoding="utf-8")
    return path


class CountingClient:
    """A moto client that counts `GetSecretValue` calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.meta = client.meta
        self.calls = 0

    def get_secret_value(self, *, SecretId: str) -> Any:
        self.calls += 1
        return self.client.get_secret_value(SecretId=SecretId)


@pytest.mark.parametrize(
    ("token_secret", "expected"),
    [
        ("acme/sonet", SecretRef(id="acme/sonet")),
        (
            "'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/sonet-AbCdEf'",
            SecretRef(id="arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/sonet-AbCdEf"),
        ),
        ("{id: acme/tokens, key: sonet}", SecretRef(id="acme/tokens", key="sonet")),
    ],
    ids=["name", "arn", "name-and-json-key"],
)
def test_a_token_may_be_a_secret_by_arn_name_or_json_key(tmp_path, token_secret, expected):
    """`token_secret` takes an ARN, a name, or `{id, key}`; the intake token likewise."""
    path = write(tmp_path, SONET % f"token_secret: {token_secret}" + f"\n    intake_token_secret: {token_secret}")
    [tenant] = load_tenants(path)
    assert tenant.sonet.token_secret == expected and tenant.sonet.token_env is None
    assert tenant.sonet_token_source().secret == expected
    intake = tenant.intake_token_source()
    assert intake is not None and intake.secret == expected and intake.env is None


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        (
            SONET % "token_env: ACME_T, token_secret: acme/sonet",
            "field sonet: Value error, give exactly one of token_env",
        ),
        (SONET % "query_limits: {rate: 5, burst: 10, in_flight: 4}", "field sonet: Value error, give exactly one of"),
        (SONET % "token_secret: 'arn:aws:secretsmanager:eu-west-1:1234:secret:x'", "field sonet.token_secret.id"),
        (
            SONET % "token_secret: 'acme sonet'",
            "field sonet.token_secret.id: Value error, 'acme sonet' is not a secret",
        ),
        (SONET % "token_secret: {id: acme/sonet, json_key: a}", "field sonet.token_secret.json_key: unknown key"),
        (
            SONET % "token_env: ACME_T" + "\n    intake_token_env: ACME_I\n    intake_token_secret: acme/intake",
            "field intake_token_secret: Value error, give at most one of intake_token_env and intake_token_secret",
        ),
    ],
    ids=["both", "neither", "bad-arn", "bad-name", "unknown-key", "intake-both"],
)
def test_a_token_source_that_is_not_exactly_one_is_refused_naming_file_tenant_and_field(tmp_path, tenant, expected):
    path = write(tmp_path, tenant)
    with pytest.raises(TenantConfigError) as info:
        load_tenants(path)
    assert f"{path}: tenant 'acme': " in str(info.value)
    assert expected in str(info.value)


def test_the_token_is_the_whole_secret_or_its_json_key_and_is_never_shown(secretsmanager):
    """A secret string is the token (trimmed); `key` picks one value of a JSON secret; no repr shows it."""
    arn = secretsmanager.create_secret(Name="acme/sonet", SecretString=TOKEN + "\n")["ARN"]
    secretsmanager.create_secret(Name="acme/tokens", SecretString=json.dumps({"sonet": TOKEN, "intake": "i-9"}))
    whole = TokenSource("tenant 'acme': sonet token", secret=SecretRef(id=arn))
    keyed = TokenSource("tenant 'acme': sonet token", secret=SecretRef(id="acme/tokens", key="sonet"))
    cache = SecretCache()
    for source in (whole, keyed):
        token = resolve_token(source, secrets=lambda: secretsmanager, cache=cache)
        assert token.get_secret_value() == TOKEN
        assert TOKEN not in repr(token) + str(token) + repr(source) + repr(cache)


def test_an_environment_variable_is_read_and_an_unset_one_is_named():
    source = TokenSource("tenant 'acme': sonet token", env="ACME_T")
    assert resolve_token(source, env={"ACME_T": TOKEN}.get).get_secret_value() == TOKEN
    with pytest.raises(TokenUnavailable, match="tenant 'acme': sonet token: environment variable ACME_T is not set"):
        resolve_token(source, env={}.get)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (SecretRef(id="acme/missing"), "Secrets Manager secret acme/missing does not exist"),
        (SecretRef(id="acme/tokens", key="other"), "has no key 'other' (its keys: intake, sonet)"),
        (SecretRef(id="acme/sonet", key="sonet"), "the secret is not a JSON object"),
        (SecretRef(id="acme/empty"), "Secrets Manager secret acme/empty is empty"),
        (
            SecretRef(id="arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/sonet-AbCdEf"),
            f"is in region us-east-1 but the Secrets Manager client is for {AWS_TEST_REGION}",
        ),
    ],
    ids=["missing", "no-such-key", "not-json", "empty", "other-region"],
)
def test_a_secret_that_cannot_give_a_token_is_named_with_the_cause_never_a_value(secretsmanager, ref, expected):
    secretsmanager.create_secret(Name="acme/sonet", SecretString=TOKEN)
    secretsmanager.create_secret(Name="acme/tokens", SecretString=json.dumps({"sonet": TOKEN, "intake": "i-9"}))
    secretsmanager.create_secret(Name="acme/empty", SecretString="  ")
    source = TokenSource("tenant 'acme': sonet token", secret=ref)
    with pytest.raises(TokenUnavailable) as info:
        resolve_token(source, secrets=lambda: secretsmanager, cache=SecretCache())
    message = str(info.value)
    assert message.startswith("tenant 'acme': sonet token: ") and expected in message
    assert TOKEN not in message and "i-9" not in message
    assert isinstance(info.value, TenantConfigError) and not info.value.transient


def test_a_secret_without_a_client_is_an_error_not_an_environment_lookup():
    source = TokenSource("tenant 'acme': intake token", secret=SecretRef(id="acme/intake"))
    with pytest.raises(TokenUnavailable, match="acme/intake: no AWS Secrets Manager client"):
        resolve_token(source, env={"acme/intake": TOKEN}.get)


def test_throttling_is_transient_and_named():
    """An answer that may pass when asked again (throttling, 5xx, no connection) is marked transient."""

    class Throttled(Exception):
        response: ClassVar[dict[str, Any]] = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}

    class Client:
        def get_secret_value(self, *, SecretId: str) -> Any:
            raise Throttled("An error occurred (ThrottlingException)")

    source = TokenSource("tenant 'acme': sonet token", secret=SecretRef(id="acme/sonet"))
    with pytest.raises(TokenUnavailable, match="acme/sonet cannot be read: ThrottlingException: Rate exceeded") as info:
        resolve_token(source, secrets=Client, cache=SecretCache())
    assert info.value.transient


def test_a_value_is_kept_for_the_ttl_and_a_rotation_is_read_after_it(secretsmanager):
    """Within the TTL one `GetSecretValue` serves every caller; after it (or sooner, with `max_age`)
    the rotated value is read."""
    secretsmanager.create_secret(Name="acme/sonet", SecretString=TOKEN)
    clock = ManualClock()
    cache = SecretCache(clock=clock)
    client = CountingClient(secretsmanager)
    source = TokenSource("tenant 'acme': sonet token", secret=SecretRef(id="acme/sonet"))

    def token(**options: Any) -> str:
        return resolve_token(source, secrets=lambda: client, cache=cache, **options).get_secret_value()

    assert [token() for _ in range(5)] == [TOKEN] * 5
    assert client.calls == 1
    secretsmanager.put_secret_value(SecretId="acme/sonet", SecretString="rotated-token")
    clock.advance(SECRET_TTL_SECONDS - 1)
    assert token() == TOKEN and client.calls == 1
    assert token(max_age=30) == "rotated-token" and client.calls == 2
    clock.advance(SECRET_TTL_SECONDS)
    assert token() == "rotated-token" and client.calls == 3
    assert cache.fresh(SecretRef(id="acme/sonet"))
