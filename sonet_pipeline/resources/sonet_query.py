"""The Sonet Query API as a Dagster resource. Use it as `with sonet.client(clock) as client:`."""

from __future__ import annotations

from typing import ClassVar

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.resources.sonet_api import SonetApiResource
from sonet_pipeline.sonet.query import SonetQueryClient
from sonet_pipeline.sonet.retry import RetryPolicy

QUERY_API = "query"


class SonetQueryResource(SonetApiResource):
    api: ClassVar[str] = QUERY_API

    def client(self, clock: Clock | None = None, retry: RetryPolicy | None = None) -> SonetQueryClient:
        """A client of this tenant's Query API; close it (or use `with`) when done."""
        return SonetQueryClient(
            tenant=self.tenant,
            base_url=self.base_url,
            company=self.company,
            token=self.token,
            throttle=self.throttle(clock),
            timeout_seconds=self.timeout_seconds,
            retry=retry or RetryPolicy(),
            clock=clock,
            credentials_hint=f"check the token in {self.token_env}",
        )
