"""The one `Definitions` of the code location: every asset, check, schedule, sensor and resource.

Tenants come from the tenants file (`SONET_PIPELINE_TENANTS`); adding a merchant is a config change.
Secrets are bound here, and only here, as `EnvVar`s.
"""

from __future__ import annotations

import os

from dagster import Definitions, EnvVar, in_process_executor

from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.tenants import Tenant, load_tenants

POSTGRES_DSN_ENV = "SONET_PIPELINE_POSTGRES_DSN"


def build_definitions(tenants: list[Tenant]) -> Definitions:
    """Everything Dagster loads, for these tenants."""
    # Leases in PostgreSQL when it is configured (several machines), else files under the data dir.
    postgres = EnvVar(POSTGRES_DSN_ENV) if os.environ.get(POSTGRES_DSN_ENV) else None
    leases = LeaseResource(postgres_dsn=postgres)
    return Definitions(
        assets=[],
        resources={"leases": leases},
        # Runs are I/O-bound and small: one process per run starts in 3.0 s instead of 5.4 s, and
        # resources (the run's lease) are set up once per run (docs/process-model.md).
        executor=in_process_executor,
    )


defs = build_definitions(load_tenants())
