"""Tenant configuration: loaded from YAML, validated with errors that name file, tenant and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import TenantConfigError, load_tenants, tenant_by_name

GOOD = """
tenants:
  - name: acme
    sonet:
      base_url: http://127.0.0.1:8765/
      company: "01"
      token_env: ACME_SONET_TOKEN
      query_limits:   {rate: 5,  burst: 10, in_flight: 4}
      message_limits: {rate: 10, burst: 20, in_flight: 4}
    variant_strategy: item_per_variant
    sync_every_seconds: 60
    send_every_seconds: 60
"""


def write(tmp_path: Path, text: str, name: str = "tenants.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_issue_example_loads_with_defaults(tmp_path):
    """The documented tenant keys load; defaults fill what the file leaves out."""
    [tenant] = load_tenants(write(tmp_path, GOOD))
    assert tenant.name == "acme"
    assert tenant.sonet.base_url == "http://127.0.0.1:8765"
    assert tenant.sonet.company == "01"
    assert tenant.sonet.message_limits.rate == 10
    assert tenant.lookback_seconds == 120
    assert tenant.send_retry_hours == 24


def test_demo_tenants_are_the_default(monkeypatch):
    """Without SONET_PIPELINE_TENANTS the shipped demo tenants load."""
    monkeypatch.delenv(settings.TENANTS_ENV, raising=False)
    names = [t.name for t in load_tenants()]
    assert names == ["acme", "nordic"]


def test_env_var_points_at_a_folder_of_files(tmp_path, monkeypatch):
    """A folder holds one file per tenant, either a `tenants:` list or a single mapping."""
    write(tmp_path, GOOD, "a.yaml")
    single = """
name: beta
sonet: {base_url: "http://127.0.0.1:8765", company: "02", token_env: BETA_SONET_TOKEN}
"""
    write(tmp_path, single, "b.yml")
    monkeypatch.setenv(settings.TENANTS_ENV, str(tmp_path))
    tenants = load_tenants()
    assert [t.name for t in tenants] == ["acme", "beta"]
    assert tenant_by_name(tenants, "beta").sonet.company == "02"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("rate: 5,", "rate: 0,"), "field sonet.query_limits.rate"),
        (("sync_every_seconds: 60", "sync_every_seconds: 90"), "multiple of 60"),
        (('company: "01"', "company: 01"), 'quoted string (write "1"'),
        (("variant_strategy: item_per_variant", "variant_strategy: sizes"), "field variant_strategy"),
        (("token_env: ACME_SONET_TOKEN", "token_env: acme-token"), "field sonet.token_env"),
        (("name: acme", "name: Acme Oy"), "field name"),
        (("send_every_seconds: 60", "send_every_secs: 60"), "send_every_secs: unknown key"),
        (("http://127.0.0.1:8765/", "ftp://x"), "field sonet.base_url"),
    ],
)
def test_invalid_tenant_names_file_tenant_and_field(tmp_path, change, expected):
    """Each wrong value is refused with the file, the tenant and the field in the message."""
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(TenantConfigError) as info:
        load_tenants(path)
    message = str(info.value)
    assert str(path) in message
    assert "tenant" in message
    assert expected in message


def test_duplicate_tenant_names_are_refused(tmp_path):
    """Two tenants with one name would share asset keys and stores: refused."""
    twice = GOOD + GOOD.split("tenants:\n", 1)[1]
    with pytest.raises(TenantConfigError, match="repeated: acme"):
        load_tenants(write(tmp_path, twice))


def test_bad_yaml_and_missing_file_are_named(tmp_path):
    """Broken YAML and a missing path give an error naming the path."""
    with pytest.raises(TenantConfigError, match="not valid YAML"):
        load_tenants(write(tmp_path, "tenants: [\n"))
    with pytest.raises(TenantConfigError, match="no tenants file"):
        load_tenants(tmp_path / "missing.yaml")


def test_token_comes_from_env_and_is_never_shown(tmp_path, monkeypatch):
    """The token is read from the named variable, kept secret in reprs; a missing one names the variable."""
    [tenant] = load_tenants(write(tmp_path, GOOD))
    monkeypatch.delenv("ACME_SONET_TOKEN", raising=False)
    with pytest.raises(TenantConfigError, match="ACME_SONET_TOKEN is not set"):
        tenant.sonet_token()
    monkeypatch.setenv("ACME_SONET_TOKEN", "s3cret-value")
    token = tenant.sonet_token()
    assert token.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(token) and "s3cret-value" not in str(token)
    assert "s3cret-value" not in repr(tenant)


def test_unknown_tenant_lists_the_configured_ones(tmp_path):
    tenants = load_tenants(write(tmp_path, GOOD))
    with pytest.raises(TenantConfigError, match="configured: acme"):
        tenant_by_name(tenants, "nope")


DEFAULT_RULE = "        - {rule: default, see_prices: true, can_order: false}\n"


@pytest.mark.parametrize(
    ("rights", "expected"),
    [
        (
            "        - {rule: r, when: {order_blocked: true}, see_prices: true, can_order: false}\n",
            "field shop: Value error, rights: a default rule is required: the last rule ('r') must have no 'when'",
        ),
        (
            "        - {rule: first, see_prices: true, can_order: true}\n"
            "        - {rule: later, when: {roles: [BUYER]}, see_prices: true, can_order: true}\n" + DEFAULT_RULE,
            "rule 'first' has no 'when', so the rules after it could never match",
        ),
        (
            "        - {rule: default, when: {roles: [BUYER]}, see_prices: true, can_order: true}\n" + DEFAULT_RULE,
            "field shop: Value error, rights: rule names repeat: default",
        ),
        (
            "        - {rule: r, when: {segment: [B2B-A]}, see_prices: true, can_order: true}\n" + DEFAULT_RULE,
            "field shop.rights.0.when.segment: unknown key",
        ),
        (
            "        - {rule: r, when: {roles: [BUYER]}, see_prices: true, can_order: true, order_limit: 5000.00}\n"
            + DEFAULT_RULE,
            'field shop.rights.0.order_limit: Value error, must be a quoted decimal (write "5000.0")',
        ),
        (
            '        - {rule: r, when: {roles: [BUYER]}, see_prices: true, can_order: false, order_limit: "50.00"}\n'
            + DEFAULT_RULE,
            "field shop.rights.0: Value error, rule 'r': an order_limit needs can_order: true",
        ),
        (
            "        - {rule: r, when: {customer_types: [B2C]}, see_prices: true, can_order: true}\n" + DEFAULT_RULE,
            "field shop.rights.0.when.customer_types.0: Input should be 'B2B', 'RESELLER' or 'CONSUMER'",
        ),
    ],
    ids=[
        "no-default",
        "catch-all-not-last",
        "repeated-names",
        "unknown-condition",
        "float-limit",
        "limit-without-ordering",
        "unknown-customer-type",
    ],
)
def test_invalid_rights_rules_name_tenant_and_field(tmp_path, rights, expected):
    """Rights rules that could not decide as written are refused on load, naming the tenant and the field."""
    path = write(tmp_path, GOOD + "    shop:\n      rights:\n" + rights)
    with pytest.raises(TenantConfigError) as info:
        load_tenants(path)
    message = str(info.value)
    assert f"{path}: tenant 'acme': " in message
    assert expected in message


def test_rights_rules_load_with_null_role_and_quoted_limit(tmp_path):
    """The documented rule shapes load: `null` among roles, a quoted order limit, a last rule without `when`."""
    rights = (
        "        - {rule: viewers, when: {roles: [VIEWER, null]}, see_prices: true, can_order: false}\n"
        "        - {rule: buyers, when: {customer_types: [B2B]}, see_prices: true, can_order: true,\n"
        '           order_limit: "9.50"}\n' + DEFAULT_RULE
    )
    [tenant] = load_tenants(write(tmp_path, GOOD + "    shop:\n      rights:\n" + rights))
    viewers, buyers, default = tenant.shop.rights
    assert viewers.when.roles == ("VIEWER", None)
    assert str(buyers.order_limit) == "9.50"
    assert default.when.is_empty()


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("    order_rights: {not_allowed: drop}\n", "field order_rights.not_allowed: Input should be 'refuse' or"),
        ("    order_rights: {guest_orders: perhaps}\n", "field order_rights.guest_orders: Input should be a valid"),
        ("    order_rights: {guests: false}\n", "field order_rights.guests: unknown key"),
    ],
    ids=["unknown-choice", "not-a-boolean", "unknown-key"],
)
def test_invalid_order_rights_name_tenant_and_field(tmp_path, section, expected):
    path = write(tmp_path, GOOD + section)
    with pytest.raises(TenantConfigError) as info:
        load_tenants(path)
    assert f"{path}: tenant 'acme': " in str(info.value) and expected in str(info.value)


def test_order_rights_default_to_refusing_and_taking_guests(tmp_path):
    [default] = load_tenants(write(tmp_path, GOOD))
    assert (default.order_rights.not_allowed, default.order_rights.guest_orders) == ("refuse", True)
    [keeping] = load_tenants(
        write(tmp_path, GOOD + "    order_rights: {not_allowed: store_failed, guest_orders: false}\n")
    )
    assert (keeping.order_rights.not_allowed, keeping.order_rights.guest_orders) == ("store_failed", False)
