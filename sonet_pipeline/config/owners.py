"""Who answers for a tenant's assets: its `owners` in the tenants file, else the deployment's.

An owner is an e-mail address or a team name prefixed with `team:` (`team:integrations`), the forms
Dagster accepts for asset owners; the UI shows them on every asset of the tenant's group and filters by
them. The deployment's owners come from `SONET_PIPELINE_OWNERS` (comma-separated), by default
`team:sonet-pipeline`, the team that runs this code location.
"""

from __future__ import annotations

import os
import re

#: Comma-separated owners of every tenant that names none of its own.
OWNERS_ENV = "SONET_PIPELINE_OWNERS"
DEFAULT_OWNERS = ("team:sonet-pipeline",)

# The shapes Dagster accepts (an e-mail address, or `team:` and a name), checked here so that a wrong
# owner is a clear configuration error naming the tenant, not a definition error at load.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}")
_TEAM = re.compile(r"team:\S+")


def owner_problem(owner: str) -> str | None:
    """Why `owner` is not an owner Dagster takes, or None when it is one."""
    if _EMAIL.fullmatch(owner) or _TEAM.fullmatch(owner):
        return None
    return f"{owner!r} is not an e-mail address or a team name prefixed with 'team:' (e.g. team:integrations)"


def checked_owners(owners: list[str]) -> list[str]:
    """`owners` without repeats, in order; ValueError naming the first that is no owner."""
    for owner in owners:
        problem = owner_problem(owner)
        if problem:
            raise ValueError(problem)
    return list(dict.fromkeys(owners))


def deployment_owners() -> list[str]:
    """`SONET_PIPELINE_OWNERS` (comma-separated), or `team:sonet-pipeline`; ValueError naming a bad one."""
    configured = [part.strip() for part in (os.environ.get(OWNERS_ENV) or "").split(",") if part.strip()]
    try:
        return checked_owners(configured or list(DEFAULT_OWNERS))
    except ValueError as exc:
        raise ValueError(f"{OWNERS_ENV}: {exc}") from None
