"""Talking to a running stand-in as a client would: GraphQL, messages and admin calls with `requests`.

`config(...)` makes small test settings (a few hundred items, unthrottled unless told); `wait_until`
polls with a deadline instead of sleeping on luck.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from lxml import etree

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.contract import MESSAGES_NS, read_bytes
from sonet_pipeline.standin.runtime import ApiLimits, CompanyConfig, Faults, Standin, StandinConfig

START = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
TOKENS = {"01": "token-acme-test", "02": "token-nordic-test"}
ITEM_FIELDS = (
    "itemCode name description modelCode modelName variantAttributes { name value } productGroup unit ean "
    "listPrice currency vatRate stockBalance webVisible status dateModified"
)
B2B_ORDER = read_bytes("examples/sales-order-b2b.xml")
GUEST_ORDER = read_bytes("examples/sales-order-guest.xml")
XML = "application/xml; charset=utf-8"


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class SonetClient:
    """One stand-in's address, its in-process objects (for the clock) and a client session."""

    base_url: str
    standin: Standin
    clock: ManualClock
    company: str = "01"
    session: requests.Session = field(default_factory=requests.Session)
    stop: Callable[[], None] = lambda: None

    def headers(self, company: str | None = None, token: str | None = None) -> dict[str, str]:
        company = company or self.company
        return {
            "Authorization": f"Bearer {token or TOKENS.get(company) or TOKENS[self.company]}",
            "X-Sonet-Company": company,
        }

    def post_graphql(self, query: str, variables: dict | None = None, **auth: Any) -> requests.Response:
        body = {"query": query, "variables": variables or {}}
        return self.session.post(f"{self.base_url}/graphql", json=body, headers=self.headers(**auth), timeout=30)

    def graphql(self, query: str, variables: dict | None = None, **auth: Any) -> dict:
        """The JSON of an HTTP 200 answer."""
        response = self.post_graphql(query, variables, **auth)
        assert response.status_code == 200, response.text
        return response.json()

    def page(
        self,
        entity: str,
        fields: str,
        *,
        first: int = 500,
        after: str | None = None,
        company: str | None = None,
        **filter: str,
    ) -> dict:
        query = (
            f"query($first: Int, $after: String, $filter: ChangeFilter) {{ {entity}(first: $first, after: $after, "
            f"filter: $filter) {{ edges {{ cursor node {{ {fields} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        )
        answer = self.graphql(query, {"first": first, "after": after, "filter": filter or None}, company=company)
        assert "errors" not in answer, answer
        return answer["data"][entity]

    def read_all(
        self, entity: str, fields: str, *, first: int = 500, company: str | None = None, **filter: str
    ) -> list[dict]:
        """Every node of a list, page by page with cursors."""
        nodes: list[dict] = []
        after = None
        while True:
            connection = self.page(entity, fields, first=first, after=after, company=company, **filter)
            nodes += [edge["node"] for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                return nodes
            after = connection["pageInfo"]["endCursor"]
            assert after is not None

    def send(self, body: bytes, *, content_type: str = XML, **auth: Any) -> requests.Response:
        headers = {**self.headers(**auth), "Content-Type": content_type}
        return self.session.post(f"{self.base_url}/messages/sales-orders", data=body, headers=headers, timeout=30)

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base_url}/admin{path}", timeout=30, **kwargs)

    def admin_json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.admin(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def state(self, entity: str, *, visible_only: bool = False, company: str | None = None) -> list[dict]:
        params = {"visible_only": "true"} if visible_only else {}
        response = self.admin("GET", f"/companies/{company or self.company}/state/{entity}", params=params)
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.text.splitlines()]

    def change(self, entity: str, records: list[dict], **options: Any) -> dict:
        body = {"entity": entity, "records": records, **options}
        return self.admin_json("POST", f"/companies/{self.company}/changes", json=body)

    def advance(self, seconds: float) -> None:
        self.admin_json("POST", "/clock", json={"advance_seconds": seconds})


def config(
    *,
    items: int = 300,
    companies: tuple[str, ...] = ("01",),
    query_limits: ApiLimits | None = None,
    message_limits: ApiLimits | None = None,
    **options: Any,
) -> StandinConfig:
    return StandinConfig(
        companies=[CompanyConfig(code, TOKENS[code], seed=7 + i, items=items) for i, code in enumerate(companies)],
        query_limits=query_limits,
        message_limits=message_limits,
        faults=options.pop("faults", None) or Faults(),
        **options,
    )


def message_answer(response: requests.Response) -> dict[str, str]:
    """A MessageReceipt or MessageError as {element: text}, plus its root's name under "_root"."""
    root = etree.fromstring(response.content)
    assert etree.QName(root).namespace == MESSAGES_NS, response.text
    return {"_root": etree.QName(root).localname, **{etree.QName(e).localname: e.text or "" for e in root}}


def message_error(response: requests.Response) -> dict[str, str]:
    answer = message_answer(response)
    assert answer["_root"] == "MessageError", response.text
    return answer


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)
