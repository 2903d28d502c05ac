"""The retention job: what the pipeline no longer needs, deleted once it is old enough (docs/retention.md).

One op per kind, independent of each other, so one that fails leaves the others to do their work:

- `retention_dagster_runs`: Dagster runs with their events and captured logs (`run_retention.py`);
- `retention_settled_orders`: outbox messages Sonet accepted long ago (`Outbox.prune_settled`), for
  every configured tenant and, with the deployment's ages, any tenant the outbox knows that the
  tenants file no longer lists;
- `retention_store_history`: each tenant's change history (`prune_history`), under the tenant's
  store lease, so never at the same time as its sync;
- `retention_archive`: archived messages and Sonet's answers (`Archive.prune`).

Ages: the deployment's settings (`config/retention.py`, read from the environment of the process
that runs the job) under each tenant's own `retention:` section; `forever` skips that kind. Each op
reports its counts as output metadata: the total under the kind's name and per tenant (runs: per
final status) as `MetadataValue.int`, and all of them as `counts` (JSON) for the CLI. With `dry_run`
every op counts what would go and deletes nothing. A tenant that fails is named in the op's failure,
after the other tenants are done.
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the decorated functions.

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dagster import (
    Config,
    Failure,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    ResourceParam,
    job,
    op,
)
from pydantic import Field

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config.retention import (
    DeploymentRetention,
    ResolvedRetention,
    TenantRetention,
    cutoff,
    deployment_retention,
    describe,
)
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.jobs.instance import FLOW_TAG
from sonet_pipeline.jobs.run_retention import prune_runs
from sonet_pipeline.resources.leases import LeaseResource
from sonet_pipeline.resources.outbox import OutboxResource
from sonet_pipeline.resources.run_guard import RunGuardResource
from sonet_pipeline.resources.store import StoreResource
from sonet_pipeline.sonet.entities import SYNCED

RETENTION_JOB = "sonet_retention"

#: op name -> the kind it reports (the metadata key of its total, and the CLI's name for it)
KINDS = {
    "retention_dagster_runs": "runs",
    "retention_settled_orders": "outbox_rows",
    "retention_store_history": "history_rows",
    "retention_archive": "archive_objects",
}


class RetentionConfig(Config):
    dry_run: bool = Field(default=False, description="Count what would go and delete nothing.")


def kinds_of(retention_job: JobDefinition) -> dict[str, str]:
    """The job's ops, each with the kind it reports."""
    return {name: kind for name, kind in KINDS.items() if retention_job.has_node(name)}


def retention_run_config(retention_job: JobDefinition, *, dry_run: bool) -> dict[str, Any]:
    """The run config that sets `dry_run` for every op of the job."""
    return {"ops": {name: {"config": {"dry_run": dry_run}} for name in kinds_of(retention_job)}}


class PrunableArchive(Protocol):
    """A tenant's audit archive, as retention uses it (`sonet_pipeline/archive/`)."""

    def prune(self, before: datetime, *, dry_run: bool = False) -> int: ...


class Archives(Protocol):
    """The resource bound as `archive`: each tenant's archive."""

    def for_tenant(self, tenant: str) -> PrunableArchive: ...


def build_retention_job(tenants: Sequence[Tenant], *, archive: bool = False) -> JobDefinition:
    """The retention job for these tenants; with `archive`, also an op pruning each tenant's archive
    through the resource bound as `archive` (`Archives`)."""

    @op(name="retention_dagster_runs")
    def dagster_runs(
        context: OpExecutionContext,
        config: RetentionConfig,
        clock: ResourceParam[Clock],
        # Tags the run so that a dead one is failed and the schedule goes on; set up once per run for
        # every op (in-process executor), so the other ops need not ask for it.
        run_guard: RunGuardResource,
    ) -> Output[dict[str, int]]:
        """Dagster runs past their age, with their events and logs; never one in progress."""
        settings, now = deployment_retention(), clock.now()
        success_before = cutoff(now, settings.success_run_days)
        failed_before = cutoff(now, settings.failed_run_days)
        pruned = prune_runs(
            context.instance,
            success_before=success_before,
            failed_before=failed_before,
            batch_size=settings.batch_size,
            dry_run=config.dry_run,
        )
        context.log.info(
            "%s %d run(s) (%s); kept %d past their age that hold an asset's latest materialization",
            "would delete" if config.dry_run else "deleted",
            pruned.total,
            ", ".join(f"{status} {n}" for status, n in sorted(pruned.by_status.items())) or "none",
            pruned.kept,
        )
        ages = {
            "successful runs": (describe(settings.success_run_days), success_before),
            "failed and canceled runs": (describe(settings.failed_run_days), failed_before),
        }
        return _output("runs", pruned.by_status, config.dry_run, ages, kept=pruned.kept)

    @op(name="retention_settled_orders")
    def settled_orders(
        context: OpExecutionContext,
        config: RetentionConfig,
        outbox: OutboxResource,
        clock: ResourceParam[Clock],
    ) -> Output[dict[str, int]]:
        """Outbox messages Sonet accepted longer ago than each tenant's `settled_orders_days`."""
        with outbox.open() as messages:
            configured = {t.name: t.retention for t in tenants}
            # A tenant the file no longer lists keeps its messages only as long as the deployment's age.
            owners = configured | {name: TenantRetention() for name in messages.tenants() if name not in configured}

            def prune(tenant: str, before: datetime, run: Pass) -> int:
                return messages.prune_settled(tenant, before, now=run.now, dry_run=run.dry_run, batch_size=run.batch)

            return _per_tenant(context, "outbox_rows", owners, Pass.start(clock, config.dry_run), prune)

    @op(name="retention_store_history")
    def store_history(
        context: OpExecutionContext,
        config: RetentionConfig,
        store: StoreResource,
        leases: LeaseResource,
        clock: ResourceParam[Clock],
    ) -> Output[dict[str, int]]:
        """Each tenant's change history older than its `history_days`, under the tenant's store lease."""
        owner = f"retention run {context.run.run_id}"

        def prune(tenant: str, before: datetime, run: Pass) -> int:
            with leases.hold(f"store-{tenant}", owner), store.writer(tenant) as writer:
                return sum(writer.prune_history(entity, before, dry_run=run.dry_run) for entity in SYNCED)

        owners = {t.name: t.retention for t in tenants}
        return _per_tenant(context, "history_rows", owners, Pass.start(clock, config.dry_run), prune)

    @op(name="retention_archive")
    def archived(
        context: OpExecutionContext,
        config: RetentionConfig,
        archive: ResourceParam[Archives],
        clock: ResourceParam[Clock],
    ) -> Output[dict[str, int]]:
        """Each tenant's archived messages and answers older than its `archive_days`."""

        def prune(tenant: str, before: datetime, run: Pass) -> int:
            return archive.for_tenant(tenant).prune(before, dry_run=run.dry_run)

        owners = {t.name: t.retention for t in tenants}
        return _per_tenant(context, "archive_objects", owners, Pass.start(clock, config.dry_run), prune)

    @job(
        name=RETENTION_JOB,
        tags={FLOW_TAG: "retention"},
        description="Deletes what is past its retention age: Dagster runs with their events, settled outbox "
        "orders, the stores' change history, archived messages (docs/retention.md).",
    )
    def retention_job() -> None:
        dagster_runs()
        settled_orders()
        store_history()
        if archive:
            archived()

    return retention_job


@dataclass(frozen=True)
class Pass:
    """One op's pass: the instant its cutoffs are computed from, the deployment's settings, dry or not."""

    now: datetime
    settings: DeploymentRetention
    dry_run: bool

    @classmethod
    def start(cls, clock: Clock, dry_run: bool) -> "Pass":
        return cls(clock.now(), deployment_retention(), dry_run)

    @property
    def batch(self) -> int:
        return self.settings.batch_size


def _per_tenant(
    context: OpExecutionContext,
    kind: str,
    owners: dict[str, TenantRetention],
    run: Pass,
    prune: Callable[[str, datetime, Pass], int],
) -> Output[dict[str, int]]:
    """`prune(tenant, before, run)` for each tenant whose age for `kind` is not `forever`; the counts as
    the op's output, or a `Failure` naming the tenants that failed once every other one is done."""
    counts: dict[str, int] = {}
    ages: dict[str, tuple[str, datetime | None]] = {}
    failed: dict[str, str] = {}
    for tenant, own in sorted(owners.items()):
        days = _days_for(kind, run.settings.for_tenant(own))
        before = cutoff(run.now, days)
        ages[tenant] = (describe(days), before)
        if before is None:
            continue
        try:
            counts[tenant] = prune(tenant, before, run)
        except Exception as exc:  # one tenant's trouble must not keep the others' data forever
            failed[tenant] = f"{type(exc).__name__}: {exc}"
            context.log.error("%s %s: %s", tenant, kind, failed[tenant])
            continue
        done = "would delete" if run.dry_run else "deleted"
        context.log.info("%s: %s %d %s older than %s", tenant, done, counts[tenant], kind, ages[tenant][0])
    output = _output(kind, counts, run.dry_run, ages)
    if failed:
        problems = "; ".join(f"{tenant}: {problem}" for tenant, problem in failed.items())
        raise Failure(description=f"{kind} not pruned for {problems}", metadata=output.metadata)
    return output


def _days_for(kind: str, resolved: ResolvedRetention) -> float | str:
    return {
        "outbox_rows": resolved.settled_orders_days,
        "history_rows": resolved.history_days,
        "archive_objects": resolved.archive_days,
    }[kind]


def _output(
    kind: str,
    counts: dict[str, int],
    dry_run: bool,
    ages: dict[str, tuple[str, datetime | None]],
    kept: int | None = None,
) -> Output[dict[str, int]]:
    """The op's output: the counts, and as metadata the total, each count, the ages and their cutoffs."""
    metadata: dict[str, Any] = {
        kind: MetadataValue.int(sum(counts.values())),
        **{name: MetadataValue.int(n) for name, n in sorted(counts.items())},
        "dry_run": MetadataValue.bool(dry_run),
        "counts": MetadataValue.json(dict(sorted(counts.items()))),
        "ages": MetadataValue.md(_ages_table(ages)),
    }
    if kept is not None:
        metadata["kept_latest_materializations"] = MetadataValue.int(kept)
    return Output(counts, metadata=metadata)


def _ages_table(ages: dict[str, tuple[str, datetime | None]]) -> str:
    lines = ["| for | age | deleted what is older than |", "|---|---|---|"]
    for name, (age, before) in ages.items():
        lines.append(f"| {name} | {age} | {before.isoformat() if before else 'kept forever'} |")
    return "\n".join(lines)
