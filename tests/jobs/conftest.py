"""Fixtures of the tests of runs on workers: a Redis database or a RabbitMQ virtual host of the test's own."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import require_outside

#: The Redis server the tests use (no database number: each test claims an empty one).
REDIS_URL = os.environ.get("SONET_TEST_REDIS_URL", "redis://127.0.0.1:6379")
CLAIM_KEY = "sonet-test-claim"
#: The RabbitMQ server the AMQP variants use (guest/guest, a virtual host made per test with rabbitmqctl).
RABBITMQ_ADDRESS = ("127.0.0.1", 5672)


@pytest.fixture
def redis_db() -> Iterator[str]:
    """The URL of a Redis database that was empty and is this test's alone (claimed, flushed after)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
        reachable = True
    except redis.RedisError:
        reachable = False
    require_outside(reachable, f"Redis is not reachable at {REDIS_URL}")
    claimed = None
    for number in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
        try:
            if client.dbsize() == 0 and client.set(CLAIM_KEY, uuid.uuid4().hex, nx=True, ex=900):
                if client.dbsize() == 1:
                    claimed = number
                    break
                client.delete(CLAIM_KEY)
        except redis.ResponseError:  # past the server's number of databases
            break
    if claimed is None:
        pytest.fail(f"no empty Redis database at {REDIS_URL} to claim")
    yield f"{REDIS_URL}/{claimed}"
    client.flushdb()


@pytest.fixture
def rabbitmq_vhost() -> Iterator[str]:
    """The URL of a RabbitMQ virtual host made for this test (guest's, on the machine's server), deleted after."""
    rabbitmqctl = shutil.which("rabbitmqctl")
    try:
        socket.create_connection(RABBITMQ_ADDRESS, timeout=3).close()
        reachable = rabbitmqctl is not None
    except OSError:
        reachable = False
    require_outside(reachable, f"RabbitMQ (and rabbitmqctl) not available at {RABBITMQ_ADDRESS}")
    assert rabbitmqctl is not None
    vhost = f"sonet-test-{uuid.uuid4().hex[:8]}"

    def ctl(*args: str) -> None:
        subprocess.run([rabbitmqctl, *args], check=True, capture_output=True, timeout=120)

    ctl("add_vhost", vhost)
    try:
        ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBITMQ_ADDRESS[0]}:{RABBITMQ_ADDRESS[1]}/{vhost}"
    finally:
        ctl("delete_vhost", vhost)
