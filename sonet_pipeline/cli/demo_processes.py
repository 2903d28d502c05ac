"""The demo's child processes: start one, wait until it answers, stop them all; a free port.

Shared by `sonet-pipeline demo` (its stand-in, intake and `dagster dev`) and `demo --once`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import requests


class DemoError(RuntimeError):
    """The demo cannot start; the message says why and what to do."""


def start(command: Sequence[str], env: dict[str, str], *, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `command` in its own session; its output goes to `log` when given, else to ours."""
    output = None if log is None else log.open("ab")
    try:
        # A child of a non-interactive shell ignores SIGINT unless it is restored (field notes).
        return subprocess.Popen(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    finally:
        if output is not None:
            output.close()  # the child holds its own copy


def wait_for(url: str, children: Sequence[subprocess.Popen[bytes]], seconds: float, what: str) -> None:
    """Until `url` answers 2xx; `DemoError` when a child stops first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise DemoError(f"{what} stopped while starting (see its output)")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise DemoError(f"{what} did not answer at {url} within {seconds:.0f} s")


def stop_all(children: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGINT to each, newest first; SIGKILL to the session of one still running 30 s later."""
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    for child in reversed(children):
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=10)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port nothing listens on now (the system's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
