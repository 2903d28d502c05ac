"""The Sonet Message API as a Dagster resource. Use it as `with sonet.client(clock) as client:`."""

from __future__ import annotations

from typing import ClassVar

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.resources.sonet_api import SonetApiResource
from sonet_pipeline.sonet.message import SonetMessageClient

MESSAGE_API = "message"


class SonetMessageResource(SonetApiResource):
    api: ClassVar[str] = MESSAGE_API

    def client(self, clock: Clock | None = None) -> SonetMessageClient:
        """A client of this tenant's Message API; close it (or use `with`) when done."""
        return SonetMessageClient(
            tenant=self.tenant,
            base_url=self.base_url,
            company=self.company,
            token=self.token,
            throttle=self.throttle(clock),
            timeout_seconds=self.timeout_seconds,
            clock=clock,
        )
