"""The tenant file's `order_prices` and `customer_lookup` sections: defaults, values, clear errors."""

from __future__ import annotations

import pytest

from sonet_pipeline.config.tenants import TenantConfigError, load_tenants
from tests.config.test_tenants import GOOD, write


def test_defaults_flag_mismatches_and_allow_a_lookup_a_second(tmp_path):
    [tenant] = load_tenants(write(tmp_path, GOOD))
    assert tenant.order_prices.mismatch == "flag"
    assert (tenant.customer_lookup.per_minute, tenant.customer_lookup.burst) == (60, 10)


def test_values_are_read(tmp_path):
    text = GOOD + "    order_prices: {mismatch: refuse}\n    customer_lookup: {per_minute: 6, burst: 2}\n"
    [tenant] = load_tenants(write(tmp_path, text))
    assert tenant.order_prices.mismatch == "refuse"
    assert (tenant.customer_lookup.per_minute, tenant.customer_lookup.burst) == (6, 2)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("    order_prices: {mismatch: warn}\n", "field order_prices.mismatch: Input should be 'flag' or 'refuse'"),
        ("    order_prices: {mismatches: flag}\n", "field order_prices.mismatches: unknown key"),
        ("    customer_lookup: {per_minute: 0}\n", "field customer_lookup.per_minute: Input should be greater than 0"),
        ("    customer_lookup: {burst: 0}\n", "field customer_lookup.burst: Input should be greater than or equal"),
    ],
    ids=["unknown-choice", "unknown-key", "zero-rate", "zero-burst"],
)
def test_bad_values_name_tenant_and_field(tmp_path, section, expected):
    path = write(tmp_path, GOOD + section)
    with pytest.raises(TenantConfigError) as info:
        load_tenants(path)
    assert f"{path}: tenant 'acme': " in str(info.value) and expected in str(info.value)
