"""Intake fixtures: tenants with and without tokens, a SQLite outbox in tmp, the intake over real HTTP."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
import requests

from sonet_pipeline.config.tenants import SonetConnection, Tenant
from sonet_pipeline.contract import read_text
from sonet_pipeline.intake.rights_gate import PublishedRights
from sonet_pipeline.intake.server import RunningIntake
from sonet_pipeline.outbox import open_outbox
from sonet_pipeline.store import Snapshot
from tests.intake.rights_snapshot import publish, seed_records

TOKEN = "intake-s3cret-7f1c9a"
WRONG_TOKEN = "not-the-token-42b8e"
#: The only intake token variable that is set; UNSET_INTAKE_TOKEN is named by a tenant but not set.
TOKENS = {"ACME_INTAKE_TOKEN": TOKEN}
EXAMPLE: dict[str, Any] = json.loads(read_text("examples/commerce-order-b2b.json"))
_numbers = itertools.count(1)


def tenant(name: str, intake_token_env: str | None) -> Tenant:
    sonet = SonetConnection(base_url="http://127.0.0.1:9", company="01", token_env="SONET_TOKEN")
    return Tenant(name=name, sonet=sonet, intake_token_env=intake_token_env)


TENANTS = [tenant("acme", "ACME_INTAKE_TOKEN"), tenant("unset", "UNSET_INTAKE_TOKEN"), tenant("untokened", None)]


def order(**changes: Any) -> dict[str, Any]:
    """The contract's B2B example under a fresh orderNumber, with top-level `changes` applied."""
    made = copy.deepcopy(EXAMPLE)
    made["orderNumber"] = f"T-{next(_numbers):06d}"
    made.update(changes)
    return made


class Client:
    """`requests` against the running intake, with the acme token unless told otherwise."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def post(
        self, path: str, body: Any = None, *, data: bytes | None = None, token: str | None = TOKEN, tenant: str = "acme"
    ) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        payload = data if data is not None else json.dumps(body).encode()
        return self.session.post(f"{self.base_url}/tenants/{tenant}{path}", data=payload, headers=headers, timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=30)


@pytest.fixture(scope="module")
def outbox_path(tmp_path_factory):
    return tmp_path_factory.mktemp("intake") / "outbox.sqlite"


@pytest.fixture(scope="module")
def outbox(outbox_path):
    with open_outbox(outbox_path) as opened:
        yield opened


def rights_of(snapshot: Snapshot) -> PublishedRights:
    """Published rights that read `snapshot` for every tenant."""
    return PublishedRights(lambda tenant: snapshot)


@pytest.fixture(scope="session")
def seed_snapshot(tmp_path_factory) -> Snapshot:
    """The stand-in's seed customers and segments, published as a sync publishes them."""
    customers, segments = seed_records()
    return publish(tmp_path_factory.mktemp("rights") / "snapshot", customers, segments)


@pytest.fixture
def seed_rights(seed_snapshot) -> PublishedRights:
    return rights_of(seed_snapshot)


@pytest.fixture(scope="module")
def intake(outbox, tmp_path_factory):
    customers, segments = seed_records()
    snapshot = publish(tmp_path_factory.mktemp("rights") / "snapshot", customers, segments)
    with RunningIntake(TENANTS, outbox, token_lookup=TOKENS.get, rights=rights_of(snapshot)) as running:
        yield running


@pytest.fixture
def client(intake):
    return Client(intake.base_url)
