"""Where the tests' alerts arrive: a webhook receiver (http.server) and an SMTP server (aiosmtpd), each
on a loopback port picked at run time, each keeping what it received."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.local_http import serving


@dataclass
class Received:
    items: list[Any] = field(default_factory=list)
    #: The status the webhook answers with (a test may change it between deliveries).
    status: int = 204
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Any) -> None:
        with self.lock:
            self.items.append(item)

    def wait_for(self, count: int, deadline_seconds: float = 10.0) -> list[Any]:
        """At least `count` items, polling until the deadline (delivery is synchronous; this is a guard)."""
        end = time.monotonic() + deadline_seconds
        while time.monotonic() < end:
            with self.lock:
                if len(self.items) >= count:
                    return list(self.items)
            time.sleep(0.02)
        with self.lock:
            return list(self.items)


@contextmanager
def webhook_receiver(status: int = 204) -> Iterator[tuple[str, Received]]:
    """A webhook that answers every POST with `status` (later: `received.status`) and keeps (path, headers,
    JSON body) of each POST it answered with a 2xx."""
    received = Received(status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = received.status
            if 200 <= answer < 300:
                received.add((self.path, dict(self.headers), json.loads(body)))
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, received


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(login: tuple[str, str] | None = None) -> Iterator[tuple[int, Received]]:
    """An SMTP server on loopback (no TLS) that keeps each message; with `login`, it requires that user
    and password (AUTH over plain text, allowed here for the test)."""
    received = Received()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            message: Message = message_from_bytes(envelope.original_content)
            received.add((envelope.mail_from, list(envelope.rcpt_tos), message))
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and login is not None
        ok = ok and (data.login.decode(), data.password.decode()) == login
        return AuthResult(success=ok)

    options: dict[str, Any] = {"auth_require_tls": False, "authenticator": authenticate} if login else {}
    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(), auth_required=bool(login), **options)
    controller.start()
    try:
        yield controller.port, received
    finally:
        controller.stop()
