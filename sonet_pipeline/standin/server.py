"""Running the stand-in over HTTP: `serve()` blocks (the CLI), `RunningStandin` runs it in a thread.

uvicorn, one worker, no access log (a request's headers carry a token; none is ever logged).
`RunningStandin` is an `AsgiThread`: it binds a free port at run time and hands the socket to uvicorn,
so tests and benchmarks never guess ports.
"""

from __future__ import annotations

import contextlib
import logging

import uvicorn

from sonet_pipeline.common.asgi_thread import AsgiThread
from sonet_pipeline.standin.app import create_app
from sonet_pipeline.standin.runtime import Standin

#: uvicorn's words when an application breaks a response off, which `LostAnswer` does on purpose.
_LOST_ANSWER_LOG = "ASGI callable returned without completing response."


class _MuteLostAnswers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _LOST_ANSWER_LOG


def _mute_lost_answers() -> None:
    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _MuteLostAnswers) for f in errors.filters):
        errors.addFilter(_MuteLostAnswers())


def _config(standin: Standin, *, host: str, port: int, log_level: str) -> uvicorn.Config:
    _mute_lost_answers()
    return uvicorn.Config(
        create_app(standin),
        host=host,
        port=port,
        workers=1,
        access_log=False,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )


def serve(standin: Standin, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then return after a graceful shutdown."""
    # uvicorn re-raises the interrupt after shutting down; for this command it is the normal way out.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(_config(standin, host=host, port=port, log_level="info")).run()


class RunningStandin(AsgiThread):
    """`with RunningStandin(standin) as running: requests.post(running.base_url + "/graphql", ...)`."""

    def __init__(self, standin: Standin, host: str = "127.0.0.1", *, start_timeout: float = 15.0) -> None:
        _mute_lost_answers()
        super().__init__(create_app(standin), host, start_timeout=start_timeout)
        self.standin = standin
