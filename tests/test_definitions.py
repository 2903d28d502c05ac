"""The code location loads: every definition, with placeholder secrets; and what Dagster shows of it:
owners, descriptions, freshness."""

from __future__ import annotations

import importlib

import pytest
from dagster import AssetKey, Definitions, TableSchemaMetadataValue

from sonet_pipeline.assets.column_schemas import COLUMN_SCHEMA
from sonet_pipeline.assets.freshness import ENTITY_FRESHNESS, freshness_check_key
from sonet_pipeline.config.owners import OWNERS_ENV
from sonet_pipeline.config.tenants import load_tenants
from sonet_pipeline.definitions import build_definitions
from sonet_pipeline.jobs.sync import FRESHNESS_JOB, MINUTE_SYNC_JOB, SYNC_JOB
from sonet_pipeline.sensors.freshness_sensor import FRESHNESS_SENSOR
from sonet_pipeline.sonet.entities import SYNCED


@pytest.fixture
def placeholder_secrets(monkeypatch):
    for tenant in load_tenants():
        monkeypatch.setenv(tenant.sonet.token_env, "placeholder-token")
        if tenant.intake_token_env:
            monkeypatch.setenv(tenant.intake_token_env, "placeholder-token")


def test_all_definitions_load(placeholder_secrets):
    """Importing the module Dagster loads builds every job, asset, check, sensor and resource."""
    module = importlib.reload(importlib.import_module("sonet_pipeline.definitions"))
    Definitions.validate_loadable(module.defs)
    module.defs.get_repository_def().load_all_definitions()


@pytest.fixture
def owned_tenants(tmp_path, monkeypatch):
    """Two tenants, one naming its owners; the deployment's owners from SONET_PIPELINE_OWNERS."""
    path = tmp_path / "tenants.yaml"
    path.write_text(
        "tenants:\n"
        "  - {name: acme, sonet: {base_url: 'http://127.0.0.1:9', company: '01', token_env: T}, "
        "owners: [team:acme-shop, anna@acme.example]}\n"
        "  - {name: nordic, sonet: {base_url: 'http://127.0.0.1:9', company: '02', token_env: T}}\n"
    )
    monkeypatch.setenv("T", "placeholder-token")
    monkeypatch.setenv(OWNERS_ENV, "team:integrations")
    return load_tenants(path)


def test_every_asset_has_its_tenants_owners_and_a_description(owned_tenants):
    """Owners per tenant group (its own, else the deployment's), and words for an operator on every asset."""
    specs = build_definitions(owned_tenants).resolve_all_asset_specs()
    owners = {"acme": ["team:acme-shop", "anna@acme.example"], "nordic": ["team:integrations"]}
    tenant_specs = [s for s in specs if s.key.path[0] in owners]
    assert {s.key.path[0] for s in tenant_specs} == set(owners)
    for spec in tenant_specs:
        assert list(spec.owners) == owners[spec.key.path[0]], spec.key
        assert spec.group_name == spec.key.path[0]
    for spec in specs:
        assert spec.description and len(spec.description) > 30, spec.key


def test_every_job_says_what_it_does(owned_tenants):
    jobs = [j for j in build_definitions(owned_tenants).resolve_all_job_defs() if not j.name.startswith("__")]
    assert {FRESHNESS_JOB, SYNC_JOB, MINUTE_SYNC_JOB} <= {j.name for j in jobs}
    for job in jobs:
        assert job.description and len(job.description) > 30, job.name


def test_every_tenants_sync_has_dagsters_freshness_check_and_its_sensor(owned_tenants):
    """Each tenant's `sync` asset carries Dagster's `freshness_check` (run by the freshness sensor, not a
    schedule); each synced entity carries a FreshnessPolicy (the nightly full read materializes it)."""
    defs = build_definitions(owned_tenants)
    check_keys = defs.resolve_asset_graph().asset_check_keys
    for tenant in owned_tenants:
        assert freshness_check_key(tenant.name) in check_keys
        assert freshness_check_key(tenant.name).asset_key == AssetKey([tenant.name, "sonet", "sync"])
    assert defs.resolve_sensor_def(FRESHNESS_SENSOR).name == FRESHNESS_SENSOR
    schedules = {s.name for s in defs.get_repository_def().schedule_defs}
    assert "sonet_sync_every_minute" in schedules and "sonet_freshness_every_5_minutes" not in schedules
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    for tenant in owned_tenants:
        for entity in SYNCED:
            spec = specs[AssetKey([tenant.name, "sonet", entity])]
            assert spec.freshness_policy == ENTITY_FRESHNESS
            assert isinstance(spec.metadata[COLUMN_SCHEMA], TableSchemaMetadataValue)
