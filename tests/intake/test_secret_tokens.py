"""The intake with tenants whose intake token is an AWS Secrets Manager secret (moto), over real HTTP:
an order with the secret's token is stored; a rotation is followed as soon as the web shop uses the new
token; a secret that cannot be read refuses the tenant's orders, naming the secret in the log and never
in the answer; a Secrets Manager that is only unavailable answers 503; no token is logged or echoed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.config.secrets import REFRESH_MIN_SECONDS, SecretCache
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.server import RunningIntake
from sonet_pipeline.outbox import open_outbox
from tests.intake.conftest import Client, order

TOKEN = "intake-from-secrets-3c9e"
ROTATED = "intake-rotated-77d0"


def tenant(name: str, intake_token_secret: Any) -> Tenant:
    sonet = {"base_url": "http://127.0.0.1:9", "company": "01", "token_env": "SONET_TOKEN"}
    return Tenant.model_validate({"name": name, "sonet": sonet, "intake_token_secret": intake_token_secret})


class Setup:
    def __init__(self, client: Client, clock: ManualClock, secrets: Any, outbox: Any) -> None:
        self.client, self.clock, self.secrets, self.outbox = client, clock, secrets, outbox


@pytest.fixture
def setup(secretsmanager, tmp_path, seed_rights) -> Iterator[Setup]:
    arn = secretsmanager.create_secret(Name="acme/intake", SecretString=TOKEN)["ARN"]
    secretsmanager.create_secret(Name="shop/tokens", SecretString=f'{{"intake": "{TOKEN}-json"}}')
    tenants = [
        tenant("acme", arn),
        tenant("jsonkey", {"id": "shop/tokens", "key": "intake"}),
        tenant("missing", "acme/not-there"),
    ]
    clock = ManualClock()
    with (
        open_outbox(tmp_path / "outbox.sqlite") as outbox,
        RunningIntake(
            tenants,
            outbox,
            token_lookup={}.get,
            secrets=lambda: secretsmanager,
            secret_cache=SecretCache(clock=clock),
            rights=seed_rights,
        ) as running,
    ):
        yield Setup(Client(running.base_url), clock, secretsmanager, outbox)


def test_an_order_with_the_secrets_token_is_stored_and_a_wrong_one_refused(setup, caplog):
    caplog.set_level(logging.DEBUG, logger="sonet_pipeline")
    answer = setup.client.post("/orders", order(), token=TOKEN)
    assert answer.status_code == 202, answer.text
    assert setup.outbox.get(answer.json()["message_id"]) is not None
    assert setup.client.post("/orders", order(), token=f"{TOKEN}-json", tenant="jsonkey").status_code == 202
    refused = setup.client.post("/orders", order(), token="not-it")
    assert refused.status_code == 401 and TOKEN not in refused.text
    assert TOKEN not in caplog.text


def test_a_rotated_secret_is_accepted_as_soon_as_the_shop_uses_it(setup):
    """After a rotation, the new token is refused only while the value read is younger than 30 s (a
    wrong token cannot make the intake call AWS more often); then it is read again and accepted, and
    the old token is refused."""
    assert setup.client.post("/orders", order(), token=TOKEN).status_code == 202
    setup.secrets.put_secret_value(SecretId="acme/intake", SecretString=ROTATED)
    assert setup.client.post("/orders", order(), token=ROTATED).status_code == 401
    setup.clock.advance(REFRESH_MIN_SECONDS + 1)
    assert setup.client.post("/orders", order(), token=ROTATED).status_code == 202
    assert setup.client.post("/orders", order(), token=TOKEN).status_code == 401


def test_a_missing_secret_refuses_the_tenant_naming_it_only_in_the_log(setup, caplog):
    caplog.set_level(logging.INFO, logger="sonet_pipeline")
    answer = setup.client.post("/orders", order(), token=TOKEN, tenant="missing")
    assert answer.status_code == 401
    assert "cannot be read from AWS Secrets Manager" in answer.json()["error"]["message"]
    assert "acme/not-there" not in answer.text
    assert "Secrets Manager secret acme/not-there does not exist" in caplog.text
    assert setup.client.post("/orders", order(), token=TOKEN).status_code == 202, "other tenants are unaffected"


def test_an_unavailable_secrets_manager_is_503_with_retry_after(tmp_path, seed_rights):
    class Unreachable(Exception):
        response: ClassVar[dict[str, Any]] = {"Error": {"Code": "InternalServiceError", "Message": "try again"}}

    class Unavailable:
        def get_secret_value(self, *, SecretId: str) -> Any:
            raise Unreachable("InternalServiceError")

    with (
        open_outbox(tmp_path / "outbox.sqlite") as outbox,
        RunningIntake(
            [tenant("acme", "acme/intake")],
            outbox,
            token_lookup={}.get,
            secrets=Unavailable,
            secret_cache=SecretCache(),
            rights=seed_rights,
        ) as running,
    ):
        answer = Client(running.base_url).post("/orders", order(), token=TOKEN)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] and answer.json()["error"]["code"] == "TOKEN_UNAVAILABLE"
