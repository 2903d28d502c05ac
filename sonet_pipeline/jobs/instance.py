"""The Dagster instance's home: where it lives and the `dagster.yaml` the pipeline starts it with.

Written once when missing and never overwritten, so an operator's own `dagster.yaml` (PostgreSQL
storage in production) stays as they wrote it. The process model is in docs/process-model.md.
"""

from __future__ import annotations

from pathlib import Path

from sonet_pipeline.config import settings

#: Flow tags: the run queue lets one run of each flow at a time; a lease in the run guards the rest.
FLOW_TAG = "sonet/flow"

DAGSTER_YAML = f"""\
# Written by sonet-pipeline when this folder was new; edit freely, it is never overwritten.
# Storage: SQLite files in this folder (the embedded default). For production, see
# docs/process-model.md (PostgreSQL storage through dagster-postgres).
concurrency:
  runs:
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
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 120
  poll_interval_seconds: 30
  max_resume_run_attempts: 0
retention:
  schedule:
    purge_after_days: 7
  sensor:
    purge_after_days:
      skipped: 1
      failure: 7
      success: 1
telemetry:
  enabled: false
"""


def ensure_dagster_home(home: Path | None = None) -> Path:
    """Create the instance folder with the pipeline's `dagster.yaml` when it has none; answer the folder."""
    home = home or settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        partial = home / "dagster.yaml.tmp"
        partial.write_text(DAGSTER_YAML, encoding="utf-8")
        partial.replace(config)
    return home
