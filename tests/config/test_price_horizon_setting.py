"""The tenant file's `shop.price_horizon_days`: how far ahead `prices.jsonl` lists prices; a clear error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sonet_pipeline.config.tenants import TenantConfigError, load_tenants
from tests.config.test_tenants import GOOD, write


def test_the_horizon_is_a_week_unless_set(tmp_path):
    [tenant] = load_tenants(write(tmp_path, GOOD))
    assert tenant.shop.price_horizon_days == 7 and tenant.shop.price_horizon == timedelta(days=7)
    [tenant] = load_tenants(write(tmp_path, GOOD + "    shop: {price_horizon_days: 30}\n"))
    assert tenant.shop.price_horizon == timedelta(days=30)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "field shop.price_horizon_days: Input should be greater than or equal to 1"),
        ("367", "field shop.price_horizon_days: Input should be less than or equal to 366"),
        ("7.5", "field shop.price_horizon_days: Value error, must be a whole number of days from 1 to 366, not 7.5"),
        ("'7'", "field shop.price_horizon_days: Value error, must be a whole number of days from 1 to 366, not '7'"),
        ("true", "field shop.price_horizon_days: Value error, must be a whole number of days from 1 to 366, not True"),
    ],
    ids=["zero", "over-a-year", "fraction", "text", "boolean"],
)
def test_a_bad_horizon_names_tenant_and_field(tmp_path, value, expected):
    path = write(tmp_path, GOOD + f"    shop: {{price_horizon_days: {value}}}\n")
    with pytest.raises(TenantConfigError) as info:
        load_tenants(path)
    assert f"{path}: tenant 'acme': " in str(info.value) and expected in str(info.value)
