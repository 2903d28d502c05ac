"""Where a run's steps execute: in the run's own process (the embedded default), or on a pool of
workers through dagster-celery when `SONET_PIPELINE_BROKER_URL` is set.

A step is the unit a worker takes: one tenant's sync, send or shop multi-asset (`assets/`), so any
worker runs any tenant's step and the steps of one run spread over the pool. The tenant's leases
still keep one writer of its store and one sender of its orders, whichever worker holds the step.
The runs' process keeps orchestrating: it submits the steps to the broker and waits for their
results; `sonet-pipeline worker` (`cli/worker.py`) consumes them with the app of `celery_app`.

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
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from sonet_pipeline.common.process_tags import PID_TAG, process_tags
from sonet_pipeline.config import settings


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
        {"broker": {"env": settings.BROKER_URL_ENV}, "backend": backend_source}, name="sonet_celery"
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
    """The Celery app of the workers: the executor's own settings for `broker` and `backend`, with
    dagster-celery's step task registered (the name the executor submits steps under)."""
    app = make_app(CeleryExecutor.for_cli(broker=broker, backend=backend).app_args())
    create_task(app)
    return app
