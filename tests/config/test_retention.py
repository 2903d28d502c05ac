"""Retention settings: a tenant's own ages over the deployment's, from the environment, with errors
that name the variable or the tenant's field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sonet_pipeline.config.retention import (
    DeploymentRetention,
    RetentionConfigError,
    TenantRetention,
    cutoff,
    deployment_retention,
    describe,
)
from sonet_pipeline.config.tenants import TenantConfigError, load_tenants

NOW = datetime(2026, 11, 28, 3, 15, tzinfo=UTC)


def test_defaults_without_any_setting():
    """Nothing set: successful runs 1 day, failed 14, history and settled orders 90, archive 365, daily."""
    settings = deployment_retention({})
    assert settings == DeploymentRetention()
    assert (settings.success_run_days, settings.failed_run_days) == (1, 14)
    assert (settings.history_days, settings.settled_orders_days, settings.archive_days) == (90, 90, 365)
    assert (settings.batch_size, settings.cron) == (500, "15 3 * * *")


def test_the_environment_sets_the_deployment_and_a_tenant_overrides_it():
    """Variables set the deployment's ages (fractional days and `forever` too); a tenant's own key wins,
    a key it leaves out takes the deployment's."""
    settings = deployment_retention(
        {
            "SONET_PIPELINE_RETENTION_SUCCESS_RUN_DAYS": "0.5",
            "SONET_PIPELINE_RETENTION_ARCHIVE_DAYS": "Forever",
            "SONET_PIPELINE_RETENTION_HISTORY_DAYS": " 30 ",
            "SONET_PIPELINE_RETENTION_BATCH_SIZE": "",
        }
    )
    assert (settings.success_run_days, settings.archive_days, settings.history_days) == (0.5, "forever", 30)
    assert settings.batch_size == 500, "an empty variable is unset"
    resolved = settings.for_tenant(TenantRetention(history_days=7, archive_days=3650))
    assert (resolved.history_days, resolved.settled_orders_days, resolved.archive_days) == (7, 90, 3650)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SONET_PIPELINE_RETENTION_FAILED_RUN_DAYS", "0"),
        ("SONET_PIPELINE_RETENTION_HISTORY_DAYS", "-3"),
        ("SONET_PIPELINE_RETENTION_SETTLED_ORDERS_DAYS", "ninety"),
        ("SONET_PIPELINE_RETENTION_ARCHIVE_DAYS", "40000"),
        ("SONET_PIPELINE_RETENTION_BATCH_SIZE", "0"),
        ("SONET_PIPELINE_RETENTION_CRON", "at night"),
    ],
)
def test_a_wrong_value_names_its_variable(variable, value):
    with pytest.raises(RetentionConfigError, match=variable) as info:
        deployment_retention({variable: value})
    assert isinstance(info.value, TenantConfigError), "the CLI answers it as a configuration error (exit 2)"


def test_cutoffs():
    assert cutoff(NOW, 1) == NOW - timedelta(days=1)
    assert cutoff(NOW, 0.5) == NOW - timedelta(hours=12)
    assert cutoff(NOW, "forever") is None
    assert [describe(d) for d in (1, 90.0, 0.5, "forever")] == ["1 day", "90 days", "0.5 days", "forever"]


def test_a_tenants_retention_section(tmp_path):
    """The section loads with its defaults; a wrong key or age names the file, the tenant and the field."""
    base = "tenants:\n  - name: acme\n    sonet: {base_url: 'http://x.example', company: '01', token_env: T}\n"
    path = tmp_path / "tenants.yaml"
    path.write_text(base)
    assert load_tenants(path)[0].retention == TenantRetention()
    path.write_text(base + "    retention: {history_days: 30, archive_days: forever}\n")
    retention = load_tenants(path)[0].retention
    assert (retention.history_days, retention.settled_orders_days, retention.archive_days) == (30, None, "forever")
    for wrong, field in (("history_days: 0", "retention.history_days"), ("keep_days: 3", "retention.keep_days")):
        path.write_text(base + f"    retention: {{{wrong}}}\n")
        with pytest.raises(TenantConfigError) as info:
            load_tenants(path)
        assert str(path) in str(info.value) and "'acme'" in str(info.value) and f"field {field}" in str(info.value)
