"""One thread's keep-alive session to the Query API, and what it refuses before the answer is parsed.

A `Connection` is a gql `RequestsHTTPTransport`, connected once, with the bearer token set as auth.
Its response hook reads each body as it streams, at most `MAX_ANSWER_BYTES` (a larger one is refused
TOO_LARGE, the rest never read), and refuses a 200 whose Content-Type is not JSON (a proxy's HTML
page); both as `AnswerRefused`, which the client turns into an error or a retry.
"""

from __future__ import annotations

from typing import Any

import requests
from gql import GraphQLRequest
from gql.transport.requests import RequestsHTTPTransport

from sonet_pipeline.sonet.capped_read import AnswerRefused, media_type, read_capped, too_large
from sonet_pipeline.sonet.schema import validated_document

#: The most of one answer that is read: a page of 500 customers is well under 2 MiB.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class ValidatedQuery(GraphQLRequest):
    """A request sent with its validated query text (gql would print the document again every time)."""

    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        super().__init__(validated_document(text), variable_values=variables)
        self.text = text

    @property
    def payload(self) -> dict[str, Any]:
        return {"query": self.text, "variables": self.variable_values}


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <token>`, set as auth so that no ~/.netrc entry can replace it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class Connection:
    """One keep-alive session (a gql transport, connected once) and the HTTP status of its last answer."""

    def __init__(self, url: str, company: str, token: str, timeout: float) -> None:
        headers = {"X-Sonet-Company": company}
        # gql annotates timeout as int, but hands it to requests, which takes a float.
        self.transport = RequestsHTTPTransport(url, headers, auth=BearerAuth(token), timeout=timeout)  # type: ignore[arg-type]
        self.transport.connect()  # type: ignore[no-untyped-call]  # unannotated in gql
        self.status = 0
        assert self.transport.session is not None
        self.transport.session.hooks["response"].append(self._seen)

    def _seen(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Runs before requests reads the body: read it here, with the cap, and refuse a 200 that is not JSON."""
        self.status = response.status_code
        kind = media_type(response)
        if response.status_code == 200 and kind != "application/json" and not kind.endswith("+json"):
            response.close()
            raise AnswerRefused("CONTENT_TYPE", f"HTTP 200 with Content-Type {kind or 'missing'!r}, not JSON")
        body, over = read_capped(response, MAX_ANSWER_BYTES)
        if over:
            raise AnswerRefused("TOO_LARGE", too_large(MAX_ANSWER_BYTES))
        response._content = body  # what requests would read next, read here within the cap
