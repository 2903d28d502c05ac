"""Separate hosts for the tests' workers, made of Linux namespaces on this machine.

A `Host` is a network namespace (`ip netns`) joined to this one by a veth pair on a private /30 of
its own (a free 10.x subnet picked at run time), and its commands get a UTS namespace too, so the
host has its own hostname. The servers the tests use (PostgreSQL, Redis, RabbitMQ, the stand-in)
listen on 127.0.0.1 here, which a host cannot reach (its loopback is its own): `Host.url` rewrites
such a URL to a forwarder listening on the veth's address on this side, which copies the bytes to
127.0.0.1, so a host reaches them over its network link as another machine would reach them.

`separate_hosts` yields the hosts, or None where namespaces cannot be made (not root, no `ip`): the
tests then run their workers as plain processes. The namespaces, the veths, every process left in
them and the forwarders go when it exits, whatever happened.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

IP = "ip"
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], capture_output=True, text=True, timeout=30, check=check)


def namespaces_available() -> bool:
    """Whether this process can make network namespaces (`ip netns add` succeeds)."""
    probe = f"sonet-probe-{uuid.uuid4().hex[:8]}"
    try:
        made = ip("netns", "add", probe, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
    if made:
        ip("netns", "del", probe, check=False)
    return made


def net_namespace(pid: int | str) -> str:
    """The network namespace of a process (`net:[inode]`); "self" for this one."""
    return os.readlink(f"/proc/{pid}/ns/net")


class Forwarders:
    """TCP forwarders on one asyncio loop in a thread: each listens on an address and copies every
    connection to a target, closing both sides when either side closes or fails."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="forwarders", daemon=True)
        self.thread.start()
        self.servers: list[asyncio.Server] = []
        self.writers: set[asyncio.StreamWriter] = set()

    def listen(self, address: str, target: tuple[str, int]) -> int:
        """Forward connections to `address` (a port picked now, answered) to `target`."""

        async def start() -> asyncio.Server:
            return await asyncio.start_server(lambda r, w: self._pipe(target, r, w), address, 0)

        server = self._call(start())
        self.servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _pipe(self, target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            self.writers.discard(writer)
            return
        self.writers.add(upstream_writer)
        await asyncio.gather(self._copy(reader, upstream_writer), self._copy(upstream_reader, writer))

    async def _copy(self, source: asyncio.StreamReader, destination: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                destination.write(data)
                await destination.drain()
        except (OSError, RuntimeError):
            pass
        finally:
            destination.close()  # the other direction then reads its end and closes the other side
            self.writers.discard(destination)

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
            for writer in list(self.writers):
                writer.close()
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        with suppress(Exception):
            self._call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)


class Host:
    """One network namespace with a veth link to this one, its hostname, and forwarders to 127.0.0.1."""

    def __init__(self, name: str, subnet: ipaddress.IPv4Network, forwarders: Forwarders) -> None:
        suffix = uuid.uuid4().hex[:6]
        self.hostname, self.namespace = name, f"sonet-{name}-{suffix}"
        self.outside, self.inside = (str(address) for address in subnet.hosts())
        self.subnet, self.forwarders = subnet, forwarders
        self.veth = f"sv{suffix}"
        self.forwarded: dict[tuple[str, int], int] = {}

    def create(self) -> None:
        ns = self.namespace
        ip("netns", "add", ns)
        ip("link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("addr", "add", f"{self.outside}/{self.subnet.prefixlen}", "dev", self.veth)
        ip("link", "set", self.veth, "up")
        ip("-n", ns, "addr", "add", f"{self.inside}/{self.subnet.prefixlen}", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")

    def net_namespace(self) -> str:
        """The namespace as `/proc/<pid>/ns/net` names it for a process inside."""
        return f"net:[{Path(f'/run/netns/{self.namespace}').stat().st_ino}]"

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` executed inside the host, under its hostname. Each step execs the next (`ip netns exec`,
        `unshare`, `sh`), so the process started is `argv`'s own."""
        script = 'hostname "$0" && exec "$@"'
        return [IP, "netns", "exec", self.namespace, "unshare", "--uts", "--", "sh", "-c", script, self.hostname, *argv]

    def url(self, url: str) -> str:
        """`url` as the host reaches it: a 127.0.0.1 server through a forwarder on this side of its link."""
        parts = urlsplit(url)
        if parts.hostname not in LOCAL_HOSTS or parts.port is None:
            return url
        target = ("127.0.0.1", parts.port)
        if target not in self.forwarded:
            self.forwarded[target] = self.forwarders.listen(self.outside, target)
        user, at, _ = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user}{at}{self.outside}:{self.forwarded[target]}"))

    def run(self, argv: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(argv), capture_output=True, text=True, timeout=timeout)

    def pids(self) -> set[int]:
        """The processes inside the host (zombies left out)."""
        listed = ip("netns", "pids", self.namespace, check=False).stdout.split()
        return {int(p) for p in listed if Path(f"/proc/{p}/stat").exists() and not _zombie(p)}

    def destroy(self) -> None:
        for pid in self.pids():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        ip("link", "del", self.veth, check=False)
        ip("netns", "del", self.namespace, check=False)


def _zombie(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def free_subnets(count: int) -> list[ipaddress.IPv4Network]:
    """`count` /30s of 10.0.0.0/8 that overlap no address or route of this machine (all tables)."""
    listed = ip("-4", "route", "show", "table", "all").stdout + ip("-4", "-o", "addr").stdout
    taken = []
    for word in re.findall(r"\b\d+\.\d+\.\d+\.\d+(?:/\d+)?\b", listed):
        with suppress(ValueError):
            taken.append(ipaddress.ip_network(word, strict=False))
    chosen: list[ipaddress.IPv4Network] = []
    while len(chosen) < count:
        candidate = ipaddress.IPv4Network(
            f"10.{random.randint(64, 254)}.{random.randint(0, 255)}.{4 * random.randint(0, 63)}/30"
        )
        if not any(candidate.overlaps(other) for other in [*taken, *chosen] if other.prefixlen > 0):
            chosen.append(candidate)
    return chosen


@contextmanager
def separate_hosts(names: Sequence[str]) -> Iterator[list[Host] | None]:
    """A host per name, or None where this process cannot make network namespaces; all torn down after."""
    if not namespaces_available():
        yield None
        return
    forwarders = Forwarders()
    hosts = [Host(name, subnet, forwarders) for name, subnet in zip(names, free_subnets(len(names)), strict=True)]
    try:
        for host in hosts:
            host.create()
        yield hosts
    finally:
        for host in hosts:
            host.destroy()
        forwarders.close()
