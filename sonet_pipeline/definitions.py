"""The one `Definitions` of the code location: every asset, check, schedule, sensor and resource.

Tenants come from the tenants file (`SONET_PIPELINE_TENANTS`); adding a merchant is a config change.
Secrets are bound here, and only here: as `EnvVar`s, or through dagster-aws's `SecretsManagerResource`
for tokens the tenants file keeps in AWS Secrets Manager.
"""

from __future__ import annotations

from dagster import Definitions, EnvVar
from dagster_aws.s3 import S3Resource
from dagster_aws.secretsmanager import SecretsManagerResource

from sonet_pipeline.assets.alerts import alerts_spec
from sonet_pipeline.assets.freshness import build_freshness_checks, freshness_check_key
from sonet_pipeline.assets.inbound import build_tenant_sync, sync_status_spec
from sonet_pipeline.assets.inbound_shards import build_minute_sync_job
from sonet_pipeline.assets.orders import build_tenant_send, outbox_spec
from sonet_pipeline.assets.shop import build_tenant_shop
from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.config import settings
from sonet_pipeline.config.alerts import deployment_alerts
from sonet_pipeline.config.retention import deployment_retention
from sonet_pipeline.config.tenants import Tenant, load_tenants
from sonet_pipeline.jobs.executor import step_executor
from sonet_pipeline.jobs.retention import build_retention_job
from sonet_pipeline.jobs.send import build_send_job, resend_job
from sonet_pipeline.jobs.shop import build_shop_job
from sonet_pipeline.jobs.sync import build_freshness_job, build_sync_job
from sonet_pipeline.resources.alerts import AlertsResource, channel_sections
from sonet_pipeline.resources.archive import ArchiveResource
from sonet_pipeline.resources.extension_pipes import PipesExtensionsResource
from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.resources.outbox import OutboxResource
from sonet_pipeline.resources.publish import PublishResource
from sonet_pipeline.resources.run_guard import RunGuardResource
from sonet_pipeline.resources.sonet import SonetResource
from sonet_pipeline.resources.store import StoreResource
from sonet_pipeline.sensors.alert_sensor import build_alert_sensor
from sonet_pipeline.sensors.freshness_sensor import build_freshness_sensor
from sonet_pipeline.sensors.order_sensor import build_order_sensor
from sonet_pipeline.sensors.retention_schedule import build_retention_schedule
from sonet_pipeline.sensors.run_failure_alerts import build_run_failure_alert_sensor
from sonet_pipeline.sensors.shop_sensor import build_shop_sensor
from sonet_pipeline.sensors.sync_schedules import build_sync_schedules


def build_definitions(tenants: list[Tenant], *, clock: Clock | None = None) -> Definitions:
    """Everything Dagster loads, for these tenants; `clock` is the time every asset reads (tests move it)."""
    clock = clock or SystemClock()
    inbound = [build_tenant_sync(t) for t in tenants]
    freshness = build_freshness_checks(tenants)
    sending = [build_tenant_send(t) for t in tenants]
    shop = [build_tenant_shop(t) for t in tenants]
    sync_job, freshness_job = build_sync_job(inbound, freshness), build_freshness_job(freshness)
    shard_size = settings.sync_shard_size()
    minute_job = build_minute_sync_job(tenants, shard_size)
    send_job, shop_job = build_send_job(sending), build_shop_job(shop)
    retention_job = build_retention_job(tenants, archive=True)
    # Leases and the outbox in PostgreSQL when it is configured (several machines), else local files.
    postgres = EnvVar(settings.POSTGRES_DSN_ENV) if settings.postgres_dsn() else None
    alert_default = deployment_alerts()  # SONET_PIPELINE_ALERT_*: every tenant's alerts also go there
    return Definitions(
        assets=[
            *inbound,
            *(sync_status_spec(t) for t in tenants),
            *sending,
            *shop,
            *(outbox_spec(t) for t in tenants),
            alerts_spec(),
        ],
        asset_checks=freshness,
        jobs=[minute_job, sync_job, freshness_job, send_job, shop_job, resend_job, retention_job],
        schedules=[
            *build_sync_schedules(minute_job, sync_job, tenants, shard_size),
            build_retention_schedule(retention_job, deployment_retention().cron),
        ],
        sensors=[
            build_freshness_sensor(freshness_job, [freshness_check_key(t.name) for t in tenants], clock),
            build_order_sensor(send_job, tenants),
            build_shop_sensor(shop_job, tenants),
            build_alert_sensor(tenants, alert_default, freshness=freshness, checked=inbound),
            build_run_failure_alert_sensor(tenants, alert_default, shard_size),
        ],
        resources={
            # Every tenant's Sonet APIs; each token bound as an EnvVar of the variable its file names, or
            # read from the Secrets Manager secret it names (region and credentials from the usual AWS chain).
            "sonet": SonetResource.for_tenants(tenants, secrets=SecretsManagerResource()),
            # Tenant stores, snapshots and shop caches in PostgreSQL when it is configured, else local files.
            "store": StoreResource(postgres_dsn=postgres),
            "outbox": OutboxResource(postgres_dsn=postgres),
            "leases": LeaseResource(postgres_dsn=postgres),
            # Tenants publishing to s3:// use it; region and credentials from the usual AWS chain.
            "publish": PublishResource(s3=S3Resource()),
            # The audit archive: <data dir>/archive, or <SONET_PIPELINE_S3_URL>/archive/ in production.
            "archive": ArchiveResource(s3=S3Resource(), s3_url=settings.s3_url()),
            "run_guard": RunGuardResource(),
            # Partner extensions of kind `pipes`: subprocesses, or AWS Lambda with SONET_PIPELINE_EXTENSIONS_LAMBDA=1.
            "extension_pipes": PipesExtensionsResource(lambda_enabled=settings.extensions_lambda()),
            # The alert channels' SMTP passwords, each bound as an EnvVar of the variable its config names.
            "alerts": AlertsResource.for_channels(
                channel_sections(alert_default, tenants), secrets=SecretsManagerResource()
            ),
            "clock": clock,
        },
        # Runs are I/O-bound and small: in process by default, one process per run starts in 2.2 s instead
        # of 3.9 s (docs/process-model.md); with SONET_PIPELINE_BROKER_URL set, the steps go to workers.
        executor=step_executor(),
    )


defs = build_definitions(load_tenants())
