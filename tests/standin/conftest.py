"""Fixtures: a stand-in running over real HTTP, on a port chosen at run time, with a ManualClock.

`start_standin(...)` starts one with small data and the given settings (see `standin_http.config`) and
stops it after the test; `sonet` is one with the defaults (unthrottled, no faults).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.standin.boot import build_standin
from sonet_pipeline.standin.runtime import StandinConfig
from sonet_pipeline.standin.server import RunningStandin
from tests.standin.standin_http import START, SonetClient, config


@pytest.fixture
def start_standin() -> Iterator[Callable[..., SonetClient]]:
    running: list[RunningStandin] = []

    def start(standin_config: StandinConfig | None = None, **options: Any) -> SonetClient:
        clock = ManualClock(START)
        standin = build_standin(standin_config or config(**options), clock)
        server = RunningStandin(standin).start()
        running.append(server)
        return SonetClient(server.base_url, standin, clock, stop=server.stop)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def sonet(start_standin: Callable[..., SonetClient]) -> SonetClient:
    return start_standin()
