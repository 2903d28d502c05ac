"""Owners: a tenant's own `owners`, checked like its other keys, else the deployment's."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonet_pipeline.config.owners import DEFAULT_OWNERS, OWNERS_ENV, deployment_owners
from sonet_pipeline.config.tenants import TenantConfigError, load_tenants

TENANT = """
tenants:
  - name: acme
    sonet: {base_url: "http://127.0.0.1:8765", company: "01", token_env: ACME_SONET_TOKEN}
"""


def tenants_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANT + extra, encoding="utf-8")
    return path


def test_a_tenant_without_owners_has_the_deployments(tmp_path, monkeypatch):
    """Unset, the owners are `team:sonet-pipeline`; `SONET_PIPELINE_OWNERS` names others."""
    monkeypatch.delenv(OWNERS_ENV, raising=False)
    [tenant] = load_tenants(tenants_file(tmp_path))
    assert tenant.owners is None and tenant.asset_owners() == list(DEFAULT_OWNERS)
    monkeypatch.setenv(OWNERS_ENV, " team:ops , oncall@example.com,team:ops")
    assert tenant.asset_owners() == ["team:ops", "oncall@example.com"]


def test_a_tenants_own_owners_come_first(tmp_path, monkeypatch):
    monkeypatch.setenv(OWNERS_ENV, "team:ops")
    [tenant] = load_tenants(tenants_file(tmp_path, "    owners: [team:acme-shop, anna@acme.example]\n"))
    assert tenant.asset_owners() == ["team:acme-shop", "anna@acme.example"]


@pytest.mark.parametrize("owners", ["[anna]", "['team:']", "[]", "team:acme"])
def test_a_wrong_owner_names_the_tenant_and_the_field(tmp_path, owners):
    with pytest.raises(TenantConfigError, match=r"tenant 'acme': field owners"):
        load_tenants(tenants_file(tmp_path, f"    owners: {owners}\n"))


def test_a_wrong_deployment_owner_names_the_variable(monkeypatch):
    monkeypatch.setenv(OWNERS_ENV, "team:ops,ops")
    with pytest.raises(ValueError, match=f"{OWNERS_ENV}: 'ops' is not an e-mail address"):
        deployment_owners()
