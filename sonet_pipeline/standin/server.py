"""Running the stand-in over HTTP: `serve()` blocks (the CLI), `RunningStandin` runs it in a thread.

uvicorn, one worker, no access log (a request's headers carry a token; none is ever logged).
`RunningStandin` binds a free port itself at run time and hands the socket to uvicorn, so tests and
benchmarks never guess ports.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from sonet_pipeline.standin.app import create_app
from sonet_pipeline.standin.runtime import Standin

#: uvicorn's words when an application breaks a response off, which `LostAnswer` does on purpose.
_LOST_ANSWER_LOG = "ASGI callable returned without completing response."


class _MuteLostAnswers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _LOST_ANSWER_LOG


def _config(standin: Standin, *, host: str, port: int, log_level: str) -> uvicorn.Config:
    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _MuteLostAnswers) for f in errors.filters):
        errors.addFilter(_MuteLostAnswers())
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


class RunningStandin:
    """`with RunningStandin(standin) as running: requests.post(running.base_url + "/graphql", ...)`."""

    def __init__(self, standin: Standin, host: str = "127.0.0.1", *, start_timeout: float = 15.0) -> None:
        self.standin = standin
        self.host = host
        self.start_timeout = start_timeout
        self.port = 0
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> RunningStandin:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        self._socket, self.port = sock, sock.getsockname()[1]
        self._server = uvicorn.Server(_config(self.standin, host=self.host, port=self.port, log_level="warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"standin-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the stand-in did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> RunningStandin:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
