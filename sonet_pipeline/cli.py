"""The `sonet-pipeline` command: thin; every subcommand delegates to the package.

Exit codes (../shared/conventions.md): 0 success, 1 a failed run or a finding, 2 bad arguments or
configuration. `--json` output goes to stdout alone; progress and logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from sonet_pipeline import __version__, settings
from sonet_pipeline.tenants import TenantConfigError, load_tenants

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except TenantConfigError as exc:
        print(f"sonet-pipeline: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    from sonet_pipeline.standin import cli_args as standin_args

    parser = argparse.ArgumentParser(
        prog="sonet-pipeline", description="Sonet ERP <-> AI Commerce web shop integration (a Dagster code location)."
    )
    parser.add_argument("--version", action="version", version=f"sonet-pipeline {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the Sonet stand-in and the Dagster UI with the demo tenants", description=_doc("demo")
    )
    demo.add_argument("--host", default="127.0.0.1", help="address both listen on (default: %(default)s)")
    demo.add_argument("--standin-port", type=int, default=8765, help="the stand-in's port (default: %(default)s)")
    demo.add_argument("--ui-port", type=int, default=3000, help="the Dagster UI's port (default: %(default)s)")
    demo.add_argument("--items", type=int, default=2000, help="items per demo company (default: %(default)s)")
    demo.add_argument(
        "--changes-per-minute", type=int, default=30, help="simulated ERP activity (default: %(default)s)"
    )
    demo.set_defaults(handler=_run_demo)

    standin = commands.add_parser(
        "standin", help="run the Sonet stand-in server", description="Serve a fake Sonet that keeps the contract."
    )
    standin_args.add_arguments(standin)
    standin.set_defaults(handler=standin_args.run)

    tenants = commands.add_parser("tenants", help="inspect the tenants configuration")
    tenant_commands = tenants.add_subparsers(title="tenant commands", required=True, metavar="COMMAND")
    check = tenant_commands.add_parser(
        "check", help="validate the tenants file and report missing secrets", description=_doc("tenants check")
    )
    check.add_argument("--json", action="store_true", help="one JSON document on stdout")
    check.set_defaults(handler=_tenants_check)
    return parser


def _doc(command: str) -> str:
    return {
        "demo": "Start the Sonet stand-in (demo companies 01 and 02) and `dagster dev` with the demo tenants, "
        "print both addresses, and run until Ctrl-C. State lives under SONET_PIPELINE_DATA_DIR (default ./.data).",
        "tenants check": "Load the tenants file (SONET_PIPELINE_TENANTS, default the demo tenants), validate every "
        "tenant, and say which secret variables are unset. Exit 0 when all is well, 2 otherwise.",
    }[command]


def _run_demo(args: argparse.Namespace) -> int:
    from sonet_pipeline.demo import DemoError, DemoOptions, run_demo

    load_tenants()  # a broken tenants file fails here, before anything starts
    options = DemoOptions(
        host=args.host,
        standin_port=args.standin_port,
        ui_port=args.ui_port,
        items=args.items,
        changes_per_minute=args.changes_per_minute,
    )
    try:
        return run_demo(options)
    except DemoError as exc:
        print(f"sonet-pipeline demo: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _tenants_check(args: argparse.Namespace) -> int:
    path = settings.tenants_path()
    tenants = load_tenants(path)
    report = {
        "file": str(path),
        "tenants": [
            {
                "name": t.name,
                "company": t.sonet.company,
                "base_url": t.sonet.base_url,
                "missing_secrets": [v for v in (t.sonet.token_env, t.intake_token_env) if v and not os.environ.get(v)],
            }
            for t in tenants
        ],
    }
    missing = [m for t in report["tenants"] for m in t["missing_secrets"]]
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{len(tenants)} tenant(s) in {path}")
        for t in report["tenants"]:
            unset = ", ".join(t["missing_secrets"]) or "none"
            print(f"  {t['name']}: company {t['company']} at {t['base_url']}; unset secrets: {unset}")
    return EXIT_USAGE if missing else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
