"""The Sonet Message API client: one SalesOrder message, one attempt, one classified outcome.

The sender decides what an outcome means for the message (sent, failed, try again later); this client
only sends the stored bytes within the tenant's limits and says what came back:

| answer | outcome |
| --- | --- |
| 201 MessageReceipt ACCEPTED, 200 DUPLICATE | `ACCEPTED`, `DUPLICATE` with the SonetOrderNumber |
| 400 MessageError, 409 CONFLICT, 413 | `REJECTED`: final for this content, with code, message and field |
| 401, 403 (whatever the body) | `REFUSED`: the tenant's credentials; stop sending for the tenant |
| 429, 503, other 5xx (whatever the body) | `TRANSIENT`, with Retry-After when given |
| 2xx without a MessageReceipt the contract allows (below) | `UNKNOWN`, `BAD_ANSWER`: it may have been accepted |
| 3xx, other 4xx, 400/409/413 without a MessageError | `TRANSIENT`, `PROTOCOL`: refused before any order was made |
| a broken connection or a timeout | `UNKNOWN`: the message may or may not have arrived |

Hostile or garbled answers: the body is read as it streams and never past `MAX_ANSWER_BYTES`
(1 MiB; a declared larger Content-Length is not read at all); only an XML media type is parsed, by
`common/safe_xml.py`, which refuses a DOCTYPE or entity before libxml2 sees it, so no entity is ever
resolved: no file and no URL it names is read. A 2xx answer that is not a contract MessageReceipt
is UNKNOWN, never a failure, since its status says Sonet may have taken the message; its error says why:

| a 2xx answer with | what the client does |
| --- | --- |
| a DOCTYPE: an internal, external or parameter entity | refuses it unparsed; nothing is resolved or fetched |
| XML that is not well-formed, or not valid against `message-response.xsd` | names the parser's or schema's error |
| an HTML error page (a proxy's), or any Content-Type that is not XML | does not parse it |
| a body over 1 MiB (say 50 MB) | reads 1 MiB, then closes the connection |

An UNKNOWN message is resent with the same bytes (the sender's rule for lost answers), and Sonet's
DUPLICATE (or, for content it never accepted, its real answer) settles it; the message's error names
the status and what was wrong with the answer. With any other status the status decides, as above.
Redirects are not followed (a 3xx is `PROTOCOL`), so the token goes nowhere but the tenant's URL.

Every request goes through the tenant's `Throttle`; a Retry-After holds off the whole tenant.
Messages name the tenant, never the token. Each outcome also carries what the audit archive keeps of
the answer: its status, the headers that matter (`KEPT_HEADERS`, and any request or correlation id) and
its body bytes (at most `MAX_ANSWER_BYTES`); with no answer, status and body are None. The token is
replaced by `***` wherever Sonet would echo it, so no outcome holds it.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import requests
from lxml import etree

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.common.safe_xml import UnsafeXmlError, parse_xml
from sonet_pipeline.contract import MESSAGE_RESPONSE_XSD, MESSAGES_NS, read_bytes
from sonet_pipeline.sonet.capped_read import media_type, read_capped, too_large
from sonet_pipeline.sonet.retry import parse_retry_after
from sonet_pipeline.sonet.throttle import Throttle

ACCEPTED, DUPLICATE, REJECTED, REFUSED, TRANSIENT, UNKNOWN = (
    "ACCEPTED",
    "DUPLICATE",
    "REJECTED",
    "REFUSED",
    "TRANSIENT",
    "UNKNOWN",
)
CONTENT_TYPE = "application/xml; charset=utf-8"
#: The most of an answer that is read; a MessageReceipt or MessageError is well under 10 KiB.
MAX_ANSWER_BYTES = 1024 * 1024
#: The code of an UNKNOWN outcome whose 2xx answer was not one the contract allows.
BAD_ANSWER = "BAD_ANSWER"
_XML_TYPES = ("application/xml", "text/xml")
_NS = f"{{{MESSAGES_NS}}}"
#: The answer's headers an outcome keeps (for the audit archive), besides any request or correlation id.
KEPT_HEADERS = ("Content-Type", "Content-Length", "Retry-After", "Date", "Location", "WWW-Authenticate")
_REQUEST_ID = re.compile(r"(^|-)(request|correlation|trace)-?id$", re.IGNORECASE)


@dataclass(frozen=True)
class SendOutcome:
    kind: str
    status: int | None = None
    code: str | None = None
    message: str = ""
    field: str | None = None
    sonet_order_number: str | None = None
    retry_after: float | None = None
    #: The answer's headers that matter (`KEPT_HEADERS`, request ids), as received; empty with no answer.
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)
    #: The answer's body bytes as received (the token, were it echoed, as `***`); None: no answer.
    body: bytes | None = dataclasses.field(default=None, repr=False, compare=False)


class SonetMessageClient:
    """Posts SalesOrder messages for one tenant. Safe from several threads (a session per thread)."""

    def __init__(
        self,
        *,
        tenant: str,
        base_url: str,
        company: str,
        token: str,
        throttle: Throttle,
        timeout_seconds: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self.tenant = tenant
        self.url = f"{base_url.rstrip('/')}/messages/sales-orders"
        self.company = company
        self._token = token
        self.throttle = throttle
        self.timeout = timeout_seconds
        self.clock = clock or SystemClock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SonetMessageClient(tenant={self.tenant!r}, url={self.url!r})"

    def send(self, xml: bytes) -> SendOutcome:
        """Post one message once and classify the answer."""
        headers = {
            "Authorization": f"Bearer {self._token}",
            "X-Sonet-Company": self.company,
            "Content-Type": CONTENT_TYPE,
        }
        with self.throttle.slot():
            try:
                response = self._session().post(
                    self.url, data=xml, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
                )
                body, over = read_capped(response, MAX_ANSWER_BYTES)  # a connection broken mid-body raises here
            except requests.RequestException as exc:
                return SendOutcome(UNKNOWN, message=f"no answer: {type(exc).__name__}: {self._scrub(str(exc))}"[:500])
        answer = _Answer(response.status_code, media_type(response), body, over)
        outcome = self._classify(answer, response.headers.get("Retry-After"))
        if outcome.kind == TRANSIENT and outcome.retry_after:
            self.throttle.hold_off(outcome.retry_after)
        return replace(outcome, headers=self._kept_headers(response.headers), body=self._scrub_bytes(body))

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def __enter__(self) -> SonetMessageClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no ~/.netrc or proxy settings may replace the tenant's token
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _classify(self, raw: _Answer, retry_after_header: str | None) -> SendOutcome:
        status = raw.status
        answer, problem = _parse_answer(raw)
        retry_after = parse_retry_after(retry_after_header, self.clock.now())
        code, message, field = (answer.get(k) for k in ("Code", "Message", "Field"))
        if status in (200, 201) and answer.get("_root") == "MessageReceipt":
            kind = DUPLICATE if answer.get("Status") == "DUPLICATE" else ACCEPTED
            return SendOutcome(kind, status, sonet_order_number=answer.get("SonetOrderNumber"))
        if status in (401, 403):
            what = "the token" if status == 401 else f"company {self.company!r} for this token"
            text = f"tenant {self.tenant!r}: Sonet refused {what} ({code or status}): check the tenant's credentials"
            return SendOutcome(REFUSED, status, code or str(status), text)
        if status in (400, 409, 413) and answer.get("_root") == "MessageError":
            return SendOutcome(REJECTED, status, code, self._scrub(message or ""), field)
        if status == 429 or status >= 500:
            return SendOutcome(
                TRANSIENT, status, code or str(status), self._scrub(message or ""), retry_after=retry_after
            )
        if 200 <= status < 300:
            detail = (
                f"HTTP {status} with an answer that is not a MessageReceipt the contract allows ({problem}): "
                "Sonet may have accepted the order; the same bytes go again and its DUPLICATE settles it"
            )
            return SendOutcome(UNKNOWN, status, BAD_ANSWER, self._scrub(detail)[:1000])
        detail = f"HTTP {status} without a MessageReceipt or MessageError the contract allows ({problem})"
        return SendOutcome(TRANSIENT, status, "PROTOCOL", self._scrub(detail)[:1000], retry_after=retry_after)

    def _scrub(self, text: Any) -> str:
        return str(text).replace(self._token, "***") if self._token else str(text)

    def _scrub_bytes(self, data: bytes) -> bytes:
        return data.replace(self._token.encode(), b"***") if self._token else data

    def _kept_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The answer's headers worth keeping, under the names Sonet gave them, the token never among them."""
        wanted = {name.lower() for name in KEPT_HEADERS}
        return {
            name: self._scrub(value)
            for name, value in headers.items()
            if name.lower() in wanted or _REQUEST_ID.search(name)
        }


_per_thread = threading.local()


def _response_schema() -> etree.XMLSchema:
    """`message-response.xsd`, one compiled copy per thread (a validator is not shared across threads)."""
    schema = getattr(_per_thread, "schema", None)
    if schema is None:
        schema = _per_thread.schema = etree.XMLSchema(etree.fromstring(read_bytes(MESSAGE_RESPONSE_XSD)))
    return schema


@dataclass(frozen=True)
class _Answer:
    status: int
    media_type: str
    body: bytes
    over_limit: bool


def _parse_answer(answer: _Answer) -> tuple[dict[str, str], str]:
    """A MessageReceipt or MessageError as {element: text} plus "_root", and "";
    or {} and why the answer is not one of them."""
    if answer.over_limit:
        return {}, too_large(MAX_ANSWER_BYTES)
    if answer.media_type not in _XML_TYPES and not answer.media_type.endswith("+xml"):
        return {}, f"Content-Type {answer.media_type or 'missing'!r} is not XML"
    try:
        root = parse_xml(answer.body)
    except UnsafeXmlError as exc:
        return {}, str(exc)[:300]
    try:
        _response_schema().assertValid(etree.ElementTree(root))
    except etree.DocumentInvalid as exc:
        return {}, f"not valid against message-response.xsd: {exc}"[:300]
    name = etree.QName(root).localname
    return {"_root": name, **{child.tag.removeprefix(_NS): child.text or "" for child in root}}, ""
