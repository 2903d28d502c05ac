"""`sonet-pipeline retention [--dry-run] [--json]`: delete now what is past its retention age (thin).

The retention job runs in this process through Dagster (`cli/runs/retention.py`), as the daily
schedule would run it, so the run and its counts show in the UI. Exit codes (conventions.md): 0 the
run succeeded, 1 it failed (a kind or a tenant could not be pruned: the others were), 2 bad arguments
or configuration (a tenants file or a `SONET_PIPELINE_RETENTION_*` setting that is wrong). `--json`
prints one JSON document and nothing else on stdout.
"""

from __future__ import annotations

import argparse
import json

from sonet_pipeline.config.tenants import load_tenants

EXIT_OK, EXIT_FAILED = 0, 1

DESCRIPTION = (
    "Run the retention job now through Dagster (the run shows in the UI) and print what it deleted, per kind: "
    "Dagster runs with their events (successful ones after SONET_PIPELINE_RETENTION_SUCCESS_RUN_DAYS, default 1; "
    "failed and canceled ones after ..._FAILED_RUN_DAYS, default 14; never a run in progress), outbox messages "
    "Sonet accepted, each store's change history and archived messages (each tenant's retention section, or the "
    "deployment's defaults). --dry-run counts what would go and deletes nothing. Exit 0 when the run succeeded, "
    "1 when it failed, 2 for bad arguments or configuration."
)


def add_retention_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `retention` to the top-level subparsers."""
    retention = commands.add_parser(
        "retention", help="delete what is past its retention age now, through Dagster", description=DESCRIPTION
    )
    retention.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
    retention.add_argument("--json", action="store_true", help="one JSON document on stdout")
    retention.set_defaults(handler=_retention)


def _retention(args: argparse.Namespace) -> int:
    from sonet_pipeline.cli.runs.retention import format_summary, run_retention
    from sonet_pipeline.definitions import build_definitions  # reads the retention settings: exit 2 if wrong
    from sonet_pipeline.jobs.cli_runs import prepare_instance

    defs = build_definitions(load_tenants())
    summary = run_retention(defs, prepare_instance(), dry_run=args.dry_run)
    print(json.dumps(summary.as_json()) if args.json else "\n".join(format_summary(summary)))
    return EXIT_OK if summary.success else EXIT_FAILED
