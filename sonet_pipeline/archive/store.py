"""The audit archive: every SalesOrder message exactly as sent, and every answer Sonet gave to it.

One attempt is up to three files under the tenant and the MessageId, named by the attempt's number (the
outbox's count of claims) and the instant it was sent (UTC, to the microsecond):

```
<tenant>/<message_id>/<attempt>-<YYYYMMDDTHHMMSS.ffffff>Z.request.xml   the bytes sent, exactly
<tenant>/<message_id>/<attempt>-<...>Z.answer.json                      what came back, and what it meant
<tenant>/<message_id>/<attempt>-<...>Z.answer.body                      the answer's body bytes (if any)
<tenant>/by-day/<YYYY-MM-DD>/<message_id>                               an empty marker: the day's index
```

`.answer.json` holds the HTTP status, the headers that matter (`Content-Type`, `Retry-After`, `Date`,
`WWW-Authenticate`, any request or correlation id), the outcome as the client classified it (kind,
code, message, field, Sonet order number, Retry-After seconds), the request's size and SHA-256, and
the order number and version. A lost answer (a timeout, a broken connection) is an `.answer.json` with
`"answer": null` and `no_answer` saying why; a request without any `.answer.json` was sent by a process
that died before it heard back. Nothing here ever holds a token: the request headers (Authorization)
are not archived, and the client replaces the token by `***` in anything Sonet echoes.

Retention (`prune`) walks the day index: it lists the days (one listing of folders), and only for the
days before the cutoff, their markers and those messages' files; files are never read, their instant
is in their name. So pruning costs what it deletes, not the size of the archive.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sonet_pipeline.common.blobs import Blobs, checked_name
from sonet_pipeline.sonet.message import SendOutcome

#: The folder of each tenant's day index (never a MessageId: those are UUIDs).
INDEX = "by-day"
REQUEST, ANSWER, BODY = ".request.xml", ".answer.json", ".answer.body"
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_FILE = re.compile(
    r"(?P<attempt>\d+)-(?P<stamp>\d{8}T\d{6}\.\d{6}Z)(?P<kind>\.request\.xml|\.answer\.json|\.answer\.body)"
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def utc(instant: datetime) -> datetime:
    """`instant` in UTC; a naive datetime is refused (an instant needs an offset)."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: an instant needs an offset")
    return instant.astimezone(UTC)


def _iso(instant: datetime) -> str:
    return utc(instant).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AttemptEntry:
    """One attempt of one message: what it sent (order number and version) and where its files go,
    known before anything is written."""

    tenant: str
    message_id: str
    attempt: int
    sent_at: datetime
    order_number: str
    order_version: int

    @property
    def stem(self) -> str:
        return f"{self.tenant}/{self.message_id}/{self.attempt:03d}-{utc(self.sent_at).strftime(_STAMP)}"

    @property
    def request(self) -> str:
        return self.stem + REQUEST

    @property
    def answer(self) -> str:
        return self.stem + ANSWER

    @property
    def body(self) -> str:
        return self.stem + BODY

    @property
    def marker(self) -> str:
        return f"{self.tenant}/{INDEX}/{utc(self.sent_at):%Y-%m-%d}/{self.message_id}"


@dataclass(frozen=True)
class ArchivedAttempt:
    """One archived attempt as `list` finds it: where its files are and, from its answer, what it got."""

    attempt: int
    sent_at: datetime
    request: str | None
    answer: str | None
    body: str | None
    #: The client's classification (ACCEPTED, REJECTED, TRANSIENT, UNKNOWN, ...); None without an answer file.
    outcome: str | None
    status: int | None
    code: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "sent_at": _iso(self.sent_at),
            "outcome": self.outcome,
            "status": self.status,
            "code": self.code,
            "request": self.request,
            "answer": self.answer,
            "body": self.body,
        }


def answer_document(entry: AttemptEntry, outcome: SendOutcome, *, xml: bytes, answered_at: datetime) -> dict[str, Any]:
    """What `.answer.json` holds for this attempt and outcome."""
    body, answer = outcome.body, None
    if outcome.status is not None:
        kept = {"name": _base(entry.body), "bytes": len(body), "sha256": _sha256(body)} if body else None
        answer = {"status": outcome.status, "headers": dict(outcome.headers), "body": kept}
    return {
        "tenant": entry.tenant,
        "message_id": entry.message_id,
        "order_number": entry.order_number,
        "order_version": entry.order_version,
        "attempt": entry.attempt,
        "sent_at": _iso(entry.sent_at),
        "answered_at": _iso(answered_at),
        "request": {"name": _base(entry.request), "bytes": len(xml), "sha256": _sha256(xml)},
        "answer": answer,
        "no_answer": outcome.message if outcome.status is None else None,
        "outcome": {
            "kind": outcome.kind,
            "code": outcome.code,
            "message": outcome.message,
            "field": outcome.field,
            "sonet_order_number": outcome.sonet_order_number,
            "retry_after_seconds": outcome.retry_after,
        },
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _base(name: str) -> str:
    return name.rsplit("/", 1)[1]


class TenantArchive:
    """One tenant's part of the archive (what the sender writes, what retention prunes)."""

    def __init__(self, blobs: Blobs, tenant: str) -> None:
        self.blobs, self.tenant = blobs, checked_name(tenant)
        if "/" in tenant:
            raise ValueError(f"not a tenant name: {tenant!r}")

    def __repr__(self) -> str:
        return f"TenantArchive({self.blobs.describe(self.tenant)!r})"

    def describe(self) -> str:
        """Where the tenant's archive is: `file:///.../<tenant>` or `s3://bucket/.../<tenant>`."""
        return self.blobs.describe(self.tenant)

    def entry(
        self, message_id: str, attempt: int, sent_at: datetime, *, order_number: str, order_version: int
    ) -> AttemptEntry:
        """Attempt `attempt` of the message, sending that order version at `sent_at` (nothing is written)."""
        if attempt < 0:
            raise ValueError(f"an attempt number is 0 or more, got {attempt}")
        part = _message_part(message_id)
        return AttemptEntry(self.tenant, part, attempt, utc(sent_at), order_number, order_version)

    def record_request(self, entry: AttemptEntry, xml: bytes) -> None:
        """The bytes about to be sent, exactly, and the day's index marker (written first, so that
        retention finds whatever follows)."""
        self.blobs.put(entry.marker, b"")
        self.blobs.put(entry.request, bytes(xml))

    def record_answer(self, entry: AttemptEntry, outcome: SendOutcome, *, xml: bytes, answered_at: datetime) -> None:
        """What Sonet answered to `xml` (its body bytes as received), or that no answer came."""
        if outcome.body:
            self.blobs.put(entry.body, outcome.body)
        document = answer_document(entry, outcome, xml=xml, answered_at=answered_at)
        self.blobs.put(entry.answer, json.dumps(document, ensure_ascii=False, indent=1).encode())

    def location(self, message_id: str) -> str:
        """Where the message's attempts are: `file:///.../<tenant>/<id>` or `s3://bucket/.../<tenant>/<id>`."""
        return self.blobs.describe(f"{self.tenant}/{_message_part(message_id)}")

    def list(self, message_id: str) -> list[ArchivedAttempt]:
        """Every archived attempt of the message, oldest first (each answer file read for its outcome)."""
        folder = f"{self.tenant}/{_message_part(message_id)}/"
        found: dict[tuple[int, str], dict[str, str]] = {}
        for name in self.blobs.names(folder):
            match = _FILE.fullmatch(name[len(folder) :])
            if match:
                found.setdefault((int(match["attempt"]), match["stamp"]), {})[match["kind"]] = name
        return [self._attempt(attempt, stamp, files) for (attempt, stamp), files in sorted(found.items())]

    def _attempt(self, attempt: int, stamp: str, files: Mapping[str, str]) -> ArchivedAttempt:
        outcome = status = code = None
        answer = files.get(ANSWER)
        raw = self.blobs.get(answer) if answer else None
        if raw is not None:
            document = json.loads(raw)
            outcome, code = document["outcome"]["kind"], document["outcome"]["code"]
            status = document["answer"]["status"] if document["answer"] else None
        where = {kind: self.blobs.describe(name) for kind, name in files.items()}
        return ArchivedAttempt(
            attempt=attempt,
            sent_at=datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC),
            request=where.get(REQUEST),
            answer=where.get(ANSWER),
            body=where.get(BODY),
            outcome=outcome,
            status=status,
            code=code,
        )

    def prune(self, before: datetime, *, dry_run: bool = False) -> int:
        """Delete the tenant's archived files sent before `before` (requests, answers, bodies), and the
        index markers of whole days before it; how many files went, or with `dry_run` would go (nothing
        is deleted). Only the days up to the cutoff's are listed; a file's instant is read from its name."""
        before = utc(before)
        cutoff_day, removed = before.date(), 0
        visited: set[str] = set()
        for day in sorted(self._days()):
            if day > cutoff_day:
                break
            prefix = f"{self.tenant}/{INDEX}/{day:%Y-%m-%d}/"
            for marker in list(self.blobs.names(prefix)):
                message_id = marker[len(prefix) :]
                if message_id not in visited:
                    visited.add(message_id)
                    removed += self._prune_message(message_id, before, dry_run)
                if day < cutoff_day and not dry_run:
                    self.blobs.delete(marker)
        return removed

    def _days(self) -> Iterator[date]:
        for name in self.blobs.folders(f"{self.tenant}/{INDEX}/"):
            if _DAY.fullmatch(name):
                yield date.fromisoformat(name)

    def _prune_message(self, message_id: str, before: datetime, dry_run: bool) -> int:
        folder, removed = f"{self.tenant}/{message_id}/", 0
        for name in list(self.blobs.names(folder)):
            match = _FILE.fullmatch(name[len(folder) :])
            if match and datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC) < before:
                removed += 1
                if not dry_run:
                    self.blobs.delete(name)
        return removed


class Archive:
    """Every tenant's archived messages and answers, in one place (`Blobs`: a folder or an S3 prefix)."""

    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    def __repr__(self) -> str:
        return f"Archive({self.blobs.describe()!r})"

    def describe(self) -> str:
        """Where the archive is: `file:///...` or `s3://bucket/prefix`."""
        return self.blobs.describe()

    def for_tenant(self, tenant: str) -> TenantArchive:
        return TenantArchive(self.blobs, tenant)

    def tenants(self) -> list[str]:
        """Every tenant with something archived."""
        return sorted(self.blobs.folders())

    def list(self, tenant: str, message_id: str) -> list[ArchivedAttempt]:
        """Every archived attempt of the tenant's message, oldest first."""
        return self.for_tenant(tenant).list(message_id)

    def location(self, tenant: str, message_id: str) -> str:
        """Where the tenant's message's attempts are (whether or not any is archived yet)."""
        return self.for_tenant(tenant).location(message_id)

    def prune(self, before: datetime, *, dry_run: bool = False) -> int:
        """`TenantArchive.prune` for every tenant in the archive, at one cutoff; how many files went."""
        return sum(self.for_tenant(tenant).prune(before, dry_run=dry_run) for tenant in self.tenants())


def _message_part(message_id: str) -> str:
    """`message_id` when it can name a folder of its own; else a ValueError naming it."""
    if "/" in message_id or message_id == INDEX:
        raise ValueError(f"not a MessageId the archive can file: {message_id!r}")
    return checked_name(message_id)
