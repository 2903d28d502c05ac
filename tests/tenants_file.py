"""A tenants file for tests: tenant `acme` on the stand-in (company 01), its token in `ACME_T`."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonet_pipeline.config import settings
from tests.standin.standin_http import TOKENS, SonetClient


def write_acme_tenant(
    sonet: SonetClient, folder: Path, monkeypatch: pytest.MonkeyPatch, *, limits: str = "", extra: str = ""
) -> Path:
    """Write `folder/tenants.yaml` with tenant `acme` and make it the process's tenants file.

    `limits` goes into its `sonet:` mapping (e.g. `message_limits: {rate: 50, burst: 50, in_flight: 4}`),
    `extra` after it, as the tenant's further lines (e.g. `    send_every_seconds: 10\\n`)."""
    more = f",\n            {limits}" if limits else ""
    path = folder / "tenants.yaml"
    path.write_text(
        "tenants:\n  - name: acme\n"
        f"    sonet: {{base_url: '{sonet.base_url}', company: '01', token_env: ACME_T{more}}}\n" + extra
    )
    monkeypatch.setenv("ACME_T", TOKENS["01"])
    monkeypatch.setenv(settings.TENANTS_ENV, str(path))
    return path
