"""The web shop's side of the intake's HTTP API (../shared/conventions.md "Intake HTTP").

`post` sends one order to `POST /tenants/{tenant}/orders`, `post_batch` several to `/orders/batch`,
each with the tenant's bearer token; both answer one `Answer` per order. A broken connection or a
timeout is an `Answer` with status 0 (the shop keeps the order and tries again), never an exception.
The token is sent, never shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

TIMEOUT_SECONDS = 30.0
#: `Answer.status` when no HTTP answer came (connection refused or broken, timeout).
NO_ANSWER = 0


@dataclass(frozen=True)
class Answer:
    """The intake's word on one order: the HTTP status, and the body's message id, state or error."""

    status: int
    message_id: str | None = None
    state: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def stored(self) -> bool:
        """The order is in the outbox (202 new, 200 the same again, or 422 kept as failed)."""
        return self.message_id is not None and self.status in (200, 202, 422)

    @property
    def retry(self) -> bool:
        """Nothing was decided: no answer, or 503 (e.g. RIGHTS_UNKNOWN before the first sync)."""
        return self.status in (NO_ANSWER, 503)

    def describe(self) -> str:
        if self.status == NO_ANSWER:
            return f"no answer ({self.error_message})"
        if self.error_code is not None:
            return f"{self.status} {self.error_code}: {self.error_message}"
        return f"{self.status} {self.state} {self.message_id}"


class IntakeClient:
    """Posts a tenant's orders to the intake at `base_url` (`http://host:port`)."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def post(self, tenant: str, token: str, order: dict[str, Any]) -> Answer:
        try:
            response = self._post(f"/tenants/{tenant}/orders", token, order)
        except requests.RequestException as exc:
            return Answer(NO_ANSWER, error_message=type(exc).__name__)
        return _answer(response.status_code, _json(response))

    def post_batch(self, tenant: str, token: str, orders: Sequence[dict[str, Any]]) -> list[Answer]:
        try:
            response = self._post(f"/tenants/{tenant}/orders/batch", token, list(orders))
        except requests.RequestException as exc:
            return [Answer(NO_ANSWER, error_message=type(exc).__name__) for _ in orders]
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, list) or len(body) != len(orders):
            whole = _answer(response.status_code, body)  # the batch as a whole was refused
            return [whole for _ in orders]
        return [
            _answer(int(entry.get("status", 0)), entry) if isinstance(entry, dict) else _answer(0, None)
            for entry in body
        ]

    def close(self) -> None:
        self.session.close()

    def _post(self, path: str, token: str, body: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return self.session.post(f"{self.base_url}{path}", json=body, headers=headers, timeout=self.timeout)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _answer(status: int, body: Any) -> Answer:
    if not isinstance(body, dict):
        return Answer(status, error_code="NOT_JSON" if status >= 400 else None, error_message="the answer is not JSON")
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    return Answer(
        status,
        message_id=body.get("message_id"),
        state=body.get("state"),
        error_code=None if error is None else error.get("code"),
        error_message=None if error is None else error.get("message"),
    )
