"""The Sonet resource and the one client factory, against a real stand-in over HTTP.

The resource Dagster builds and the CLI's `SonetAccess.of` reach the same factory: their clients of a
tenant's API share the process's one throttle, keep the tenant's limits, read Sonet, and show the token
nowhere.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from dagster import build_resources

from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.resources.sonet import SonetResource
from sonet_pipeline.sonet.clients import MESSAGE_API, QUERY_API, SonetAccess, message_client, query_client
from sonet_pipeline.sonet.entities import entity
from tests.standin.standin_http import START, TOKENS

pytestmark = pytest.mark.slow


def _tenant(base_url: str, name: str = "acme", company: str = "01") -> Tenant:
    return Tenant.model_validate(
        {
            "name": name,
            "sonet": {
                "base_url": base_url,
                "company": company,
                "token_env": f"{name.upper()}_SONET_TOKEN",
                "query_limits": {"rate": 5, "burst": 10, "in_flight": 4},
                "message_limits": {"rate": 3, "burst": 6, "in_flight": 2},
            },
        }
    )


def test_the_resource_and_the_cli_get_their_clients_from_one_factory(sonet, monkeypatch):
    """Clients from the resource and from `SonetAccess.of` share one throttle per tenant and API, with
    the tenant's limits; the query client reads Sonet; no repr shows the token."""
    monkeypatch.setenv("ACME_SONET_TOKEN", TOKENS["01"])
    tenant = _tenant(sonet.base_url)
    resource = SonetResource.for_tenants([tenant])
    with build_resources({"sonet": resource}) as resources:
        built: SonetResource = resources.sonet
        assert TOKENS["01"] not in repr(built) and TOKENS["01"] not in repr(resource)
        with (
            built.query_client("acme", clock=sonet.clock) as from_resource,
            query_client(SonetAccess.of(tenant, QUERY_API), clock=sonet.clock) as from_cli,
            built.message_client("acme", clock=sonet.clock) as sender,
        ):
            assert from_resource.throttle is from_cli.throttle
            limits = from_resource.throttle
            assert (limits.rate, limits.burst, limits.in_flight) == (5, 10, 4)
            assert (sender.throttle.rate, sender.throttle.in_flight) == (3, 2)
            assert sender.throttle is not from_resource.throttle
            pages = from_resource.iter_pages(entity("items"), modified_to=START + timedelta(days=1))
            assert sum(len(page.records) for page in pages) > 0
            for client in (from_resource, from_cli, sender):
                assert TOKENS["01"] not in repr(client)


def test_a_tenant_the_resource_does_not_know_is_named(sonet, monkeypatch):
    monkeypatch.setenv("ACME_SONET_TOKEN", TOKENS["01"])
    resource = SonetResource.for_tenants([_tenant(sonet.base_url)])
    with build_resources({"sonet": resource}) as resources, pytest.raises(KeyError, match="no tenant 'nordic'"):
        resources.sonet.query_client("nordic")


def test_a_client_is_built_only_for_its_api(sonet, monkeypatch):
    monkeypatch.setenv("ACME_SONET_TOKEN", TOKENS["01"])
    access = SonetAccess.of(_tenant(sonet.base_url), MESSAGE_API)
    with pytest.raises(ValueError, match="a query client needs query API access, not message"):
        query_client(access)
    with message_client(access) as client:
        assert client.tenant == "acme"


def test_the_cli_names_the_variable_of_a_missing_token(sonet, monkeypatch):
    """`SonetAccess.of` reads the token when asked; unset, the error names the variable, not a value."""
    monkeypatch.delenv("ACME_SONET_TOKEN", raising=False)
    with pytest.raises(ValueError, match="ACME_SONET_TOKEN"):
        SonetAccess.of(_tenant(sonet.base_url), QUERY_API)
