"""A tenant's `alerts:` section and the deployment's SONET_PIPELINE_ALERT_* settings are validated on
load, with errors that name the file, the tenant and the field (or the variable), never a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonet_pipeline.config.alerts import INCIDENT_KINDS, AlertConfigError, deployment_alerts
from sonet_pipeline.config.tenants import TenantConfigError, load_tenants

SONET = '{base_url: "http://127.0.0.1:9", company: "01", token_env: T1}'


def tenants_with(tmp_path: Path, alerts: str) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(f"tenants:\n  - name: acme\n    sonet: {SONET}\n    alerts:\n{alerts}")
    return path


def test_a_full_section_is_read(tmp_path):
    """Webhook, e-mail with login by env var, chosen incidents: read as written; `to` may be one string."""
    path = tenants_with(
        tmp_path,
        "      webhook: https://hooks.example.com/T0/B0/x\n"
        "      email: {host: smtp.example.com, from: p@example.com, to: ops@example.com,\n"
        "              username: p, password_env: ACME_SMTP_PASSWORD}\n"
        "      incidents: [credentials_refused, order_failed]\n"
        "      notify_cleared: false\n",
    )
    alerts = load_tenants(path)[0].alerts
    assert alerts is not None and alerts.email is not None
    assert alerts.email.port == 587 and alerts.email.security == "starttls" and alerts.email.to == ("ops@example.com",)
    assert alerts.wants("order_failed") and not alerts.wants("sync_stale") and not alerts.notify_cleared
    source = alerts.email.password_source("tenant 'acme'")
    assert source is not None and source.env == "ACME_SMTP_PASSWORD"


def test_no_section_means_none(tmp_path):
    """A tenant without `alerts:` has none; its incidents go to the deployment's default only."""
    path = tmp_path / "tenants.yaml"
    path.write_text(f"tenants:\n  - name: acme\n    sonet: {SONET}\n")
    assert load_tenants(path)[0].alerts is None


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("      notify_cleared: true\n", "field alerts: Value error, give a webhook, an email, or both"),
        (
            "      webhook: ftp://example.com/x\n",
            "field alerts.webhook: Value error, must be an http:// or https:// URL",
        ),
        ("      webhook: https://h.example.com\n      wehbook: x\n", "field alerts.wehbook: unknown key"),
        (
            "      webhook: https://h.example.com\n      incidents: [run_failed, disk_full]\n",
            "field alerts.incidents.1",
        ),
        (
            "      email: {host: smtp.example.com, from: p@example.com, to: [ops]}\n",
            "field alerts.email.to: Value error, must list e-mail addresses (name@example.com); not one: 'ops'",
        ),
        ("      email: {host: smtp.example.com, to: [o@example.com]}\n", "field alerts.email.from: Field required"),
        (
            "      email: {host: h.example.com, from: p@example.com, to: [o@example.com], port: 0}\n",
            "field alerts.email.port: Input should be greater than or equal to 1",
        ),
        (
            "      email: {host: h.example.com, from: p@example.com, to: [o@example.com], username: p}\n",
            "a username needs its password: give password_env or password_secret",
        ),
        (
            "      email: {host: h.example.com, from: p@example.com, to: [o@example.com], password_env: lower}\n",
            "field alerts.email.password_env: String should match pattern",
        ),
        (
            "      email: {host: h.example.com, from: p@example.com, to: [o@example.com], username: p,\n"
            "              password_env: P, password_secret: smtp-password}\n",
            "give at most one of password_env and password_secret",
        ),
    ],
)
def test_a_wrong_section_names_the_file_the_tenant_and_the_field(tmp_path, section, expected):
    path = tenants_with(tmp_path, section)
    with pytest.raises(TenantConfigError) as raised:
        load_tenants(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: tenant 'acme': ") and expected in message


def test_the_deployment_default_from_the_environment():
    """Webhook and SMTP from SONET_PIPELINE_ALERT_*: recipients separated by commas; the password is
    the variable SONET_PIPELINE_ALERT_SMTP_PASSWORD itself."""
    default = deployment_alerts(
        {
            "SONET_PIPELINE_ALERT_WEBHOOK_URL": "https://hooks.example.com/x",
            "SONET_PIPELINE_ALERT_SMTP_HOST": "smtp.example.com",
            "SONET_PIPELINE_ALERT_SMTP_PORT": "2525",
            "SONET_PIPELINE_ALERT_SMTP_SECURITY": "none",
            "SONET_PIPELINE_ALERT_SMTP_FROM": "pipeline@example.com",
            "SONET_PIPELINE_ALERT_SMTP_TO": "a@example.com, b@example.com",
            "SONET_PIPELINE_ALERT_SMTP_USERNAME": "pipeline",
            "SONET_PIPELINE_ALERT_SMTP_PASSWORD": "s3cret",
        }
    )
    assert default is not None and default.webhook == "https://hooks.example.com/x"
    assert default.email is not None and default.email.port == 2525 and default.email.security == "none"
    assert default.email.to == ("a@example.com", "b@example.com")
    assert default.email.password_env == "SONET_PIPELINE_ALERT_SMTP_PASSWORD"
    assert default.incidents == INCIDENT_KINDS
    assert deployment_alerts({}) is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"SONET_PIPELINE_ALERT_WEBHOOK_URL": "hooks.example.com"}, "SONET_PIPELINE_ALERT_WEBHOOK_URL: Value error"),
        (
            {"SONET_PIPELINE_ALERT_SMTP_HOST": "smtp.example.com", "SONET_PIPELINE_ALERT_SMTP_TO": "a@example.com"},
            "SONET_PIPELINE_ALERT_SMTP_FROM: is not set",
        ),
        (
            {
                "SONET_PIPELINE_ALERT_SMTP_HOST": "smtp.example.com",
                "SONET_PIPELINE_ALERT_SMTP_FROM": "p@example.com",
                "SONET_PIPELINE_ALERT_SMTP_TO": "a@example.com",
                "SONET_PIPELINE_ALERT_SMTP_PORT": "smtp",
            },
            "SONET_PIPELINE_ALERT_SMTP_PORT: Input should be a valid integer",
        ),
        (
            {
                "SONET_PIPELINE_ALERT_SMTP_HOST": "smtp.example.com",
                "SONET_PIPELINE_ALERT_SMTP_FROM": "p@example.com",
                "SONET_PIPELINE_ALERT_SMTP_TO": "a@example.com",
                "SONET_PIPELINE_ALERT_SMTP_USERNAME": "p",
            },
            "SONET_PIPELINE_ALERT_SMTP_USERNAME needs SONET_PIPELINE_ALERT_SMTP_PASSWORD",
        ),
    ],
)
def test_a_wrong_environment_names_the_variable(environ, expected):
    with pytest.raises(AlertConfigError) as raised:
        deployment_alerts(environ)
    assert expected in str(raised.value)


def test_a_webhook_url_is_not_echoed_in_an_error(tmp_path):
    """A webhook's path is often its secret: a wrong URL is refused without repeating it."""
    path = tenants_with(tmp_path, "      webhook: hooks.example.com/T0/B0/very-secret\n")
    with pytest.raises(TenantConfigError) as raised:
        load_tenants(path)
    assert "very-secret" not in str(raised.value)
