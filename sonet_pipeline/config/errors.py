"""The configuration's one error type (its own module, so the tenants file and the token sources share it)."""

from __future__ import annotations


class TenantConfigError(ValueError):
    """The tenants configuration is wrong; the message names the file, the tenant and the field."""
