"""The Sonet resource with a tenant whose token is an AWS Secrets Manager secret (moto): the token is
read through dagster-aws's `SecretsManagerResource`, by the same `resolve_token` the CLI's
`SonetAccess.of` uses, and shows nowhere; a missing secret is named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dagster import build_resources
from dagster_aws.secretsmanager import SecretsManagerResource

from sonet_pipeline.config.secrets import TokenUnavailable
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.resources.sonet import SonetResource
from sonet_pipeline.sonet.clients import QUERY_API, SonetAccess, query_client
from sonet_pipeline.sonet.entities import entity
from tests.conftest import AWS_TEST_REGION
from tests.standin.standin_http import START, TOKENS

pytestmark = pytest.mark.slow


def _tenant(base_url: str, token_secret: object) -> Tenant:
    return Tenant.model_validate(
        {"name": "acme", "sonet": {"base_url": base_url, "company": "01", "token_secret": token_secret}}
    )


def test_a_secret_token_reaches_sonet_through_the_resource_and_the_cli(sonet, secretsmanager):
    """The resource (through `SecretsManagerResource`) and `SonetAccess.of` (through a boto3 client)
    read the same secret and its JSON key; their clients read Sonet; no repr or config shows the token."""
    arn = secretsmanager.create_secret(Name="acme/sonet", SecretString=f'{{"token": "{TOKENS["01"]}"}}')["ARN"]
    tenant = _tenant(sonet.base_url, {"id": arn, "key": "token"})
    resource = SonetResource.for_tenants([tenant], secrets=SecretsManagerResource(region_name=AWS_TEST_REGION))
    assert resource.tenants["acme"].token is None and resource.tenants["acme"].token_secret == arn
    with build_resources({"sonet": resource}) as resources:
        built: SonetResource = resources.sonet
        access = built.access("acme", QUERY_API)
        assert access.token_from == f"Secrets Manager secret {arn} (JSON key 'token')"
        with built.query_client("acme", clock=sonet.clock) as client:
            pages = client.iter_pages(entity("items"), modified_to=START + timedelta(days=1))
            assert sum(len(page.records) for page in pages) > 0
        for shown in (repr(built), repr(resource), repr(access), repr(client), str(built.tenants)):
            assert TOKENS["01"] not in shown
    cli_access = SonetAccess.of(tenant, QUERY_API, secrets=lambda: secretsmanager)
    assert cli_access.token == TOKENS["01"] and cli_access.token_from == access.token_from
    with query_client(cli_access, clock=sonet.clock) as client:
        assert next(client.iter_pages(entity("items"), modified_to=START + timedelta(days=1))).records


def test_a_missing_secret_is_named_by_the_resource(sonet, secretsmanager):
    """A secret that does not exist: the error names the tenant and the secret, and makes no client."""
    resource = SonetResource.for_tenants([_tenant(sonet.base_url, "acme/nowhere")])
    with (
        build_resources({"sonet": resource}) as resources,
        pytest.raises(TokenUnavailable, match="tenant 'acme': sonet token: Secrets Manager secret acme/nowhere does"),
    ):
        resources.sonet.query_client("acme")
