"""The Dagster instance's home: where it lives and the `dagster.yaml` the pipeline starts it with.

Written once when missing and never overwritten, so an operator's own `dagster.yaml` stays as they
wrote it. With `SONET_PIPELINE_POSTGRES_DSN` set, the storage is PostgreSQL (`postgres_storage.py`);
else SQLite in this folder. The process model is in docs/process-model.md, the keys in docs/deploy.md.
"""

from __future__ import annotations

from pathlib import Path

from sonet_pipeline.common.atomic_file import write_bytes_atomically
from sonet_pipeline.config import settings

#: Flow tags: the run queue lets one run of each flow at a time; a lease in the run guards the rest.
FLOW_TAG = "sonet/flow"

_HEADER = """\
# Written by sonet-pipeline when this folder was new; edit freely, it is never overwritten.
# Every key is explained in docs/deploy.md.
"""

_EMBEDDED_STORAGE = """\
# Storage: SQLite files in this folder (the embedded default, one machine). With
# SONET_PIPELINE_POSTGRES_DSN set when the folder is new, the pipeline writes PostgreSQL storage instead.
"""

#: Dagster's runs, event log and schedules on the pipeline's PostgreSQL, read from the same variable.
POSTGRES_STORAGE = f"""\
# Storage: Dagster's runs, event log and schedules in PostgreSQL, schema "dagster", from the DSN in
# {settings.POSTGRES_DSN_ENV} (read at start by every process; no password in this file).
storage:
  custom:
    module: sonet_pipeline.jobs.postgres_storage
    class: PipelinePostgresStorage
    config:
      dsn:
        env: {settings.POSTGRES_DSN_ENV}
      schema: dagster
"""

_RUNS = f"""\
concurrency:
  runs:
    # Runs at once over all flows; each flow is limited to one below.
    max_concurrent_runs: 4
    # One sync, one send and one shop run at a time; the run's lease (sonet_pipeline/common/leases.py) guards
    # the store and the senders also against runs started from the CLI, which skip this queue.
    tag_concurrency_limits:
      - key: "{FLOW_TAG}"
        value: "sync"
        limit: 1
      - key: "{FLOW_TAG}"
        value: "send"
        limit: 1
      - key: "{FLOW_TAG}"
        value: "shop"
        limit: 1
      - key: "{FLOW_TAG}"
        value: "retention"
        limit: 1
# Runs wait in a queue (the daemon starts them within the limits above), checked every second.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
# The daemon fails a run whose worker stopped answering (it is never resumed: the next tick redoes it).
run_monitoring:
  enabled: true
  start_timeout_seconds: 120
  poll_interval_seconds: 30
  max_resume_run_attempts: 0
# Schedule and sensor ticks, deleted by the daemon after this many days by their outcome: skipped
# ticks (most of them: the minute sync skips while a sync runs, the sensors tick every 30 s) and ticks
# that started runs after 1 day, like successful runs; failed ticks after 14, like failed runs.
# Runs themselves, with their events, go with the retention job (docs/retention.md).
retention:
  schedule:
    purge_after_days:
      skipped: 1
      success: 1
      failure: 14
      started: 14
  sensor:
    purge_after_days:
      skipped: 1
      success: 1
      failure: 14
      started: 14
telemetry:
  enabled: false
"""


def dagster_yaml(*, postgres: bool) -> str:
    """The `dagster.yaml` the pipeline writes: PostgreSQL storage in production, SQLite embedded."""
    return _HEADER + (POSTGRES_STORAGE if postgres else _EMBEDDED_STORAGE) + _RUNS


def ensure_dagster_home(home: Path | None = None) -> Path:
    """Create the instance folder with the pipeline's `dagster.yaml` when it has none; answer the folder.

    The storage follows the settings at that moment: PostgreSQL when `SONET_PIPELINE_POSTGRES_DSN` is set."""
    home = home or settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # two commands starting at once may both write it: each its own temporary file
        write_bytes_atomically(config, dagster_yaml(postgres=settings.postgres_dsn() is not None).encode("utf-8"))
    return home
