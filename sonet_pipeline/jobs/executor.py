"""Where a run's steps execute: in the run's own process (the embedded default), or on a pool of
workers through dagster-celery when `SONET_PIPELINE_BROKER_URL` is set.

A step is the unit a worker takes: one tenant's sync, send or shop multi-asset (`assets/`), so any
worker runs any tenant's step and the steps of one run spread over the pool. The tenant's leases
still keep one writer of its store and one sender of its orders, whichever worker holds the step.
The runs' process keeps orchestrating: it submits the steps to the broker and waits for their
results; `sonet-pipeline worker` (`cli/worker.py`) consumes them with the app of `celery_app`.

A worker that dies mid-step (SIGKILL, a lost host) loses nothing: a step's message is acknowledged
only when the step is done (`celery_settings`), so the broker hands it to another worker (RabbitMQ when
the dead worker's connection drops, Redis once the visibility timeout has passed) and the run, still
waiting for that step's result, completes. A step never outlasts the visibility timeout (the worker
stops it at `SONET_PIPELINE_STEP_TIME_LIMIT`), so a step still running is never handed out twice.

Runs started by a CLI (`sync`, `send`: `execute_in_process`) always execute in the CLI's process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dagster import (
    DagsterEvent,
    ExecutorDefinition,
    InitExecutorContext,
    executor,
    in_process_executor,
    multiple_process_executor_requirements,
)
from dagster_celery import celery_executor
from dagster_celery.defaults import broker_transport_options
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from sonet_pipeline.common.process_tags import PID_TAG, process_tags
from sonet_pipeline.config import settings

#: Seconds a message stays with the worker that took it beyond the step's time limit, before Redis hands
#: it to another: covers the wait between a worker taking a step and starting it, and clocks apart.
VISIBILITY_MARGIN = 10
#: How often each worker looks for messages of dead workers whose visibility timeout has passed.
RESTORE_INTERVAL = 5


def celery_settings() -> dict[str, Any]:
    """The Celery settings of the runs and the workers, beside dagster-celery's defaults.

    Acknowledged late, rejected (back to the queue) when its pool process dies, one message fetched per
    process: a step in the hands of a worker that dies is executed again by another. Each step is
    stopped at the time limit, before its message becomes visible again (Redis)."""
    limit = settings.step_time_limit()
    return {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": limit,
        "broker_transport_options": {
            **broker_transport_options,
            "visibility_timeout": limit + VISIBILITY_MARGIN,
            "unacked_restore_interval": RESTORE_INTERVAL,
            "unacked_restore_throttle": 1,
        },
    }


def step_executor() -> ExecutorDefinition:
    """The in-process executor, or, with a broker configured, dagster-celery's on that broker.

    The executor's config names the variables, never their values (a broker URL may carry a password);
    the run's process reads them when the run starts."""
    broker, backend = settings.broker_url(), settings.result_backend()
    if broker is None:
        return in_process_executor
    if backend == broker:
        backend_source: object = {"env": settings.BROKER_URL_ENV}
    elif backend == "rpc://":
        backend_source = backend
    else:
        backend_source = {"env": settings.RESULT_BACKEND_ENV}
    return pipeline_celery_executor.configured(
        {"broker": {"env": settings.BROKER_URL_ENV}, "backend": backend_source, "config_source": celery_settings()},
        name="sonet_celery",
    )


class LivenessTaggedCeleryExecutor(CeleryExecutor):
    """dagster-celery's executor that first tags the run with the process orchestrating it.

    With steps on workers, `RunGuardResource` would tag the run with the pid of whichever worker set
    up resources first; the run lives as long as its orchestrating process, so that process is the one
    `jobs/liveness.py` must watch."""

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[DagsterEvent]:
        run = plan_context.dagster_run
        if PID_TAG not in run.tags:
            plan_context.instance.add_run_tags(run.run_id, process_tags())
        yield from super().execute(plan_context, execution_plan)


@executor(name="celery", config_schema=CELERY_CONFIG, requirements=multiple_process_executor_requirements())
def pipeline_celery_executor(init_context: InitExecutorContext) -> LivenessTaggedCeleryExecutor:
    """`dagster_celery.celery_executor`, its config and behaviour, with the run tagged for liveness."""
    celery = celery_executor.executor_creation_fn(init_context)  # type: ignore[misc]
    assert isinstance(celery, CeleryExecutor)
    return LivenessTaggedCeleryExecutor(
        retries=celery.retries,
        broker=celery.broker,
        backend=celery.backend,
        include=celery.include,
        config_source=dict(vars(celery.config_source)),
    )


def celery_app(broker: str, backend: str) -> Any:
    """The Celery app of the workers: the executor's own settings for `broker` and `backend` (and
    `celery_settings`), with dagster-celery's step task registered (the name the executor submits steps under)."""
    executor = CeleryExecutor.for_cli(broker=broker, backend=backend, config_source=celery_settings())
    app = make_app(executor.app_args())
    create_task(app)
    return app
