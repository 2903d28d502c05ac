"""Tags each run with the pid and host executing it, so a dead run is noticed and failed (`jobs/liveness.py`)."""

from __future__ import annotations

from dagster import ConfigurableResource, InitResourceContext

from sonet_pipeline.common.process_tags import PID_TAG, process_tags


class RunGuardResource(ConfigurableResource):
    """Required by every asset of the pipeline; set up once per run (in-process executor)."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        run = context.run
        if run is not None and context.instance is not None and PID_TAG not in run.tags:
            context.instance.add_run_tags(run.run_id, process_tags())
