"""The minute sync: one step per shard of tenants (`SONET_PIPELINE_SYNC_SHARD_SIZE`, default 1), each
syncing its due tenants in turn with `tenant_sync.py`, under each tenant's store lease.

Its events grow with changes, not with tenants × minutes. A run of the tenants' multi-assets records,
for every selected asset and check, a "planned" event before any step starts (5 entities and 13
checks: 18 events a tenant, changed or not); these steps are ops, so the run plans nothing, and each
logs what its tenants' syncs did: a materialization per changed (or held) entity, the checks of those,
and one observation of the tenant's `sync` asset (when it was synced, what changed). An idle tenant
costs that one observation, plus its share of its step's start and end (2 events a step). A tenant
whose sync fails, or whose snapshot a blocking rule holds back, fails its shard's step once the
shard's other tenants are done, naming it.
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.
from collections.abc import Iterator, Sequence
from datetime import datetime

from dagster import (
    AssetCheckEvaluation,
    AssetMaterialization,
    AssetObservation,
    Config,
    DagsterInstance,
    DagsterLogManager,
    Failure,
    GraphDefinition,
    JobDefinition,
    OpDefinition,
    OpExecutionContext,
    ResourceParam,
    op,
)
from pydantic import Field

from sonet_pipeline.assets.inbound_checks import as_evaluation
from sonet_pipeline.assets.sync_partitions import coverage_events, partition_key_for
from sonet_pipeline.assets.tenant_sync import Request, TenantSync, sync_tenant
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.inbound.shards import shard_step_name, shards
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.sync import MINUTE_SYNC_JOB
from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.resources.run_guard import RunGuardResource
from sonet_pipeline.resources.sonet import SonetResource
from sonet_pipeline.resources.store import StoreResource

ShardEvent = AssetMaterialization | AssetCheckEvaluation | AssetObservation


class ShardConfig(Config):
    """Which of the shard's tenants to sync this time (the due ones); unset: all of them."""

    tenants: list[str] | None = Field(default=None, description="the tenants due this minute")


def tenant_shards(tenants: Sequence[Tenant], size: int) -> dict[str, list[Tenant]]:
    """Step name -> the tenants it syncs, in the tenants file's order."""
    by_name = {t.name: t for t in tenants}
    groups = shards([t.name for t in tenants], size)
    return {shard_step_name(i): [by_name[name] for name in group] for i, group in enumerate(groups)}


def build_minute_sync_job(tenants: Sequence[Tenant], shard_size: int) -> JobDefinition:
    steps = [_shard_op(name, members) for name, members in tenant_shards(tenants, shard_size).items()]
    return GraphDefinition(name=MINUTE_SYNC_JOB, node_defs=steps).to_job(
        tags={FLOW_TAG: "sync"},
        description=f"Each due tenant's delta sync, {shard_size} tenant(s) a step: the minute schedule's run.",
    )


def _shard_op(name: str, members: list[Tenant]) -> OpDefinition:
    @op(
        name=name,
        description=f"The minute sync of {', '.join(t.name for t in members)}.",
        tags={"tenants": ",".join(t.name for t in members)[:200]},
        out={},  # no output: a step's events are its start, its end and what its tenants' syncs did
    )
    def shard_sync(
        context: OpExecutionContext,
        config: ShardConfig,
        sonet: SonetResource,
        store: StoreResource,
        leases: LeaseResource,
        run_guard: RunGuardResource,  # tags the run so that a dead one is failed
        clock: ResourceParam[Clock],
    ) -> Iterator[ShardEvent]:
        due = set(config.tenants) if config.tenants is not None else None
        problems: list[str] = []
        for tenant in members:
            if due is not None and tenant.name not in due:
                continue
            outcome = sync_tenant(
                context.log, context.run.run_id, tenant, Request(), sonet=sonet, store=store, leases=leases, clock=clock
            )
            yield from _events(outcome, context.instance, clock.now())
            problem = _problem(context.log, outcome)
            if problem:
                problems.append(problem)
        if problems:
            raise Failure(description="; ".join(problems), allow_retries=False)

    return shard_sync


def _events(outcome: TenantSync, instance: DagsterInstance, now: datetime) -> Iterator[ShardEvent]:
    """What the tenant's sync did, as the step's events, in the month in progress; first the months its
    read covered that the instance lacks (`sync_partitions.py`: once a month, not every minute)."""
    yield from coverage_events(instance, outcome, now, reported_in_current=True)
    yield from outcome.materializations(partition_key_for(now))
    yield from (as_evaluation(check) for check in outcome.checks)
    observation = outcome.observation()
    if observation is not None:
        yield observation


def _problem(log: DagsterLogManager, outcome: TenantSync) -> str | None:
    """What makes the tenant's shard's step fail, or None."""
    if outcome.error is not None:
        _log_error(log, outcome)
        return f"{outcome.tenant}: {_describe(outcome.error)}"
    if outcome.verdict is not None and not outcome.verdict.passed:
        return f"{outcome.tenant}: snapshot held back by blocking checks ({outcome.verdict.describe()})"
    return None


def _log_error(log: DagsterLogManager, outcome: TenantSync) -> None:
    log.error("%s: the sync failed: %s", outcome.tenant, _describe(outcome.error), exc_info=outcome.error)


def _describe(error: BaseException | None) -> str:
    if isinstance(error, Failure) and error.description:
        return error.description
    return f"{type(error).__name__}: {error}"
