"""The code location loads: every definition, with placeholder secrets."""

from __future__ import annotations

import importlib

import pytest
from dagster import Definitions

from sonet_pipeline.config.tenants import load_tenants


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
