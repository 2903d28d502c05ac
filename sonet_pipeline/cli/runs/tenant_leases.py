"""A CLI run waits for its tenants, or says they are busy: never a lock error, never a traceback.

`sync` and `send` take the leases their run's assets take (a tenant's store, a tenant's sending) before
they start the run, naming the run they are about to start; the run, executed in the same process,
goes ahead under them (`LeaseResource.hold`). While another run holds one (the daemon's, another
command's), the command waits up to `--wait` seconds; then it starts nothing and says who holds the
tenant and since when (exit 1, `TenantBusy`). No run is started, so none fails. No Dagster here:
`main` imports this module for its flags.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

from sonet_pipeline.common.leases import LeaseHeldError, held_together, open_lease
from sonet_pipeline.config import settings
from sonet_pipeline.config.tenants import Tenant

#: How long `sync` and `send` wait for a tenant another run holds, unless told (`--wait`).
DEFAULT_WAIT_SECONDS = 60.0

#: The lease each flow's assets hold per tenant (`assets/inbound.py`, `assets/orders.py`), and what it guards.
FLOW_LEASES = {"sync": ("store-{tenant}", "its store"), "send": ("send-{tenant}", "its sending")}


class TenantBusy(RuntimeError):
    """A tenant stayed held by another run for longer than the command would wait."""

    def __init__(self, tenant: str, what: str, error: LeaseHeldError) -> None:
        who = error.holder.describe() if error.holder else "another process"
        super().__init__(f"tenant {tenant} is busy: {what} is held by {who}; waited {error.waited:g} s")
        self.tenant = tenant


def new_run_id() -> str:
    """A Dagster run id chosen before the run starts (Dagster's own form: a UUID4)."""
    return str(uuid.uuid4())


@contextmanager
def tenants_held(flow: str, tenants: Sequence[Tenant], run_id: str, *, wait_seconds: float) -> Iterator[None]:
    """Hold the `flow` lease of every tenant for run `run_id`, waiting up to `wait_seconds` until all are
    free; else `TenantBusy` naming a tenant still held, who holds it and since when."""
    pattern, what = FLOW_LEASES[flow]
    by_name = {pattern.format(tenant=t.name): t.name for t in tenants}
    dsn, locks = settings.postgres_dsn(), settings.locks_dir()
    leases = [open_lease(name, postgres_dsn=dsn, locks_dir=locks) for name in by_name]  # as `LeaseResource` does
    with ExitStack() as stack:
        try:
            stack.enter_context(held_together(leases, f"{flow} run {run_id}", wait_seconds=wait_seconds))
        except LeaseHeldError as busy:
            raise TenantBusy(by_name[busy.name], what, busy) from None
        yield
