"""Running the intake: `serve()` blocks (the `sonet-pipeline intake` command), `RunningIntake` runs it
in a thread on a port bound at run time (tests, benchmarks).

uvicorn, one worker (the outbox has one writer per process: the group committer), no access log (a
request's headers carry a token; none is ever logged). The outbox is PostgreSQL when
`SONET_PIPELINE_POSTGRES_DSN` is set, else the SQLite file under the data dir. Tenants whose intake
token is an AWS Secrets Manager secret are read with the client `secrets` makes (the CLI passes boto3's
usual chain: `AWS_REGION`, credentials).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

from sonet_pipeline.common.asgi_thread import AsgiThread
from sonet_pipeline.common.clock import Clock
from sonet_pipeline.config import settings
from sonet_pipeline.config.secrets import ClientFactory, SecretCache
from sonet_pipeline.config.tenants import Tenant, load_tenants
from sonet_pipeline.intake.app import create_app
from sonet_pipeline.intake.customer_lookup import PublishedCustomers
from sonet_pipeline.intake.rights_gate import PublishedRights
from sonet_pipeline.outbox import Outbox, open_outbox

DEFAULT_PORT = 8780


def build_app(secrets: ClientFactory | None = None) -> tuple[Starlette, Outbox]:
    """The intake for the configured tenants and outbox (raises `TenantConfigError` on a bad config)."""
    tenants = load_tenants()
    outbox = open_outbox(settings.postgres_dsn())
    return create_app(tenants, outbox, secrets=secrets), outbox


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, secrets: ClientFactory | None = None) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); queued orders are committed before it returns.

    `secrets` makes the Secrets Manager client for tenants whose intake token is a secret."""
    app, outbox = build_app(secrets)
    config = uvicorn.Config(
        app, host=host, port=port, workers=1, access_log=False, log_level="info", timeout_graceful_shutdown=10
    )
    try:
        # uvicorn re-raises the interrupt after shutting down; for this command it is the normal way out.
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run()
    finally:
        close = getattr(outbox, "close", None)
        if close is not None:
            close()


class RunningIntake(AsgiThread):
    """`with RunningIntake(tenants, outbox, token_lookup={...}.get) as intake: requests.post(intake.base_url + ...)`.

    `secrets`, `secret_cache` and `rights` as for `create_app` (tests pass a moto client, a cache and
    snapshots of their own)."""

    def __init__(
        self,
        tenants: list[Tenant],
        outbox: Outbox,
        *,
        clock: Clock | None = None,
        token_lookup: Callable[[str], str | None] = os.environ.get,
        secrets: ClientFactory | None = None,
        secret_cache: SecretCache | None = None,
        linger_seconds: float = 0.0,
        rights: PublishedRights | None = None,
        customers: PublishedCustomers | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        app = create_app(
            tenants,
            outbox,
            clock=clock,
            token_lookup=token_lookup,
            secrets=secrets,
            secret_cache=secret_cache,
            linger_seconds=linger_seconds,
            rights=rights,
            customers=customers,
        )
        super().__init__(app, host)
        self.committer = app.state.committer
