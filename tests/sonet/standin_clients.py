"""Sonet clients of the tests, pointed at the stand-in (`tests.standin.standin_http.SonetClient`) as
tenant acme, on the stand-in's clock."""

from __future__ import annotations

import random

from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.sonet.retry import RetryPolicy
from sonet_pipeline.sonet.throttle import Throttle
from tests.standin.standin_http import TOKENS, SonetClient


def query_client_of(
    sonet: SonetClient,
    *,
    limits: tuple[float, int, int] = (1000, 1000, 4),
    token: str = TOKENS["01"],
    company: str = "01",
    retry: RetryPolicy | None = None,
    timeout_seconds: float = 10.0,
    seed: int = 5,
    credentials_hint: str = "",
) -> SonetQueryClient:
    """A query client of company `company` within `limits` (the throttle's rate, burst, in flight)."""
    return SonetQueryClient(
        tenant="acme",
        base_url=sonet.base_url,
        company=company,
        token=token,
        throttle=Throttle(*limits, clock=sonet.clock),
        timeout_seconds=timeout_seconds,
        retry=retry or RetryPolicy(),
        clock=sonet.clock,
        rng=random.Random(seed),
        credentials_hint=credentials_hint,
    )
