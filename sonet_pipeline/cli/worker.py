"""`sonet-pipeline worker [--concurrency N] [--name NAME]`: a Celery worker for the runs' steps.

With `SONET_PIPELINE_BROKER_URL` set, the sync, send and shop runs hand their per-tenant steps to
the broker (`jobs/executor.py`); every host that should carry them runs this command with the same
environment as the code location (tenants file, tokens, `SONET_PIPELINE_POSTGRES_DSN`, S3). It runs
until stopped: SIGTERM or Ctrl-C lets the steps in hand finish first. Exit 2 when the broker is not
configured or the configuration is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

from sonet_pipeline.common.cli_types import positive_whole_number
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import load_tenants

EXIT_OK, EXIT_USAGE = 0, 2

DESCRIPTION = (
    "Start a Celery worker that executes the steps of the sync, send and shop runs (one step = one tenant's "
    "flow) handed over through SONET_PIPELINE_BROKER_URL (redis://... or amqp://...; results through "
    "SONET_PIPELINE_RESULT_BACKEND, default the Redis broker itself or rpc:// for RabbitMQ). Any worker runs any "
    "tenant's step; the tenant's leases keep one writer and one sender each. Give it the code location's "
    "environment (tenants file, tokens, SONET_PIPELINE_POSTGRES_DSN). Runs until SIGTERM or Ctrl-C, which let "
    "the steps in hand finish. Exit 2 when the broker is not configured."
)


def add_worker_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `worker` to the top-level subparsers."""
    worker = commands.add_parser(
        "worker", help="execute runs' steps handed over through the broker", description=DESCRIPTION
    )
    worker.add_argument(
        "--concurrency",
        type=positive_whole_number,
        default=os.cpu_count() or 1,
        metavar="N",
        help="steps at once, each in a process of its own (default: the number of CPUs, %(default)s)",
    )
    worker.add_argument("--name", help="the worker's name, @host added (default: sonet-<random>)")
    worker.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    try:
        broker, backend = settings.broker_url(), settings.result_backend()
    except ValueError as exc:
        print(f"sonet-pipeline worker: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if broker is None or backend is None:
        print(
            f"sonet-pipeline worker: {settings.BROKER_URL_ENV} is not set: runs execute their steps in their own "
            "process and there is nothing for a worker to take (set it, e.g. redis://127.0.0.1:6379/0, here and "
            "where the runs start)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    load_tenants()  # a broken tenants file fails here, before the worker takes a step
    if not settings.production():
        print(
            f"sonet-pipeline worker: {settings.POSTGRES_DSN_ENV} is not set: this worker can only take steps of "
            "runs of this host (SQLite instance, DuckDB stores under the data dir)",
            file=sys.stderr,
        )

    from sonet_pipeline.jobs.executor import celery_app

    app = celery_app(broker, backend)
    app.worker_main(worker_argv(concurrency=args.concurrency, name=args.name))
    return EXIT_OK


def worker_argv(*, concurrency: int, name: str | None) -> list[str]:
    """The Celery worker's arguments: one step at a time per process, none fetched ahead."""
    node = name or f"sonet-{uuid.uuid4().hex[:6]}"
    return [
        "worker",
        f"--concurrency={concurrency}",
        f"--hostname={node if '@' in node else node + '@%h'}",
        "--prefetch-multiplier=1",
        "--loglevel=INFO",
    ]
