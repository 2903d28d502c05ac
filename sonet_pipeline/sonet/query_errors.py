"""What the Query API client raises, and the error for an answer that breaks the contract's schema.

`SonetQueryError` is a refused query or no answer at all; `SonetAuthError` a refused token or company;
`SonetUnavailableError` transient failures past the retry policy; `SonetAnswerError` an answer the
contract does not allow, naming the list, the field, the record's key and the cursor. Messages name
the tenant, never the token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sonet_pipeline.sonet.answer_shape import check_data, locate
from sonet_pipeline.sonet.entities import Entity


class SonetQueryError(Exception):
    """Sonet refused a query, or the client could not get an answer; `.code` says which."""

    def __init__(self, message: str, *, code: str, tenant: str) -> None:
        super().__init__(message)
        self.code = code
        self.tenant = tenant


class SonetAuthError(SonetQueryError):
    """Sonet refused the token (UNAUTHENTICATED) or the company for it (FORBIDDEN). Never retried."""


class SonetUnavailableError(SonetQueryError):
    """Transient failures outlasted the retry policy; `.code` is the last one's."""

    def __init__(self, message: str, *, code: str, tenant: str, attempts: int) -> None:
        super().__init__(message, code=code, tenant=tenant)
        self.attempts = attempts


class SonetAnswerError(SonetQueryError):
    """Sonet's answer is not one the contract allows (`.code` TOO_LARGE or INVALID_ANSWER). Never retried.

    `.entity` is the list (or `salesOrder`), `.field` the field at fault, `.key` the record's key where
    known, `.cursor` the cursor of the record's edge or else the page's `after`."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        tenant: str,
        entity: str,
        field: str | None = None,
        key: str | None = None,
        cursor: str | None = None,
    ) -> None:
        super().__init__(message, code=code, tenant=tenant)
        self.entity, self.field, self.key, self.cursor = entity, field, key, cursor


def check_answer(
    query: str,
    data: Any,
    entity: Entity,
    after: str | None,
    *,
    tenant: str,
    list_name: str,
    scrub: Callable[[str], str],
) -> None:
    """Raise `SonetAnswerError` naming the list, field, record key and cursor when `data` breaks the schema.

    `scrub` takes the token out of the message."""
    problem = check_data(query, data)
    if problem is None:
        return
    key, cursor = locate(problem, data, entity.key, after)
    record = f"record {entity.key}={key!r}" if key is not None else "the answer"
    where = f"after cursor {cursor!r}" if cursor else "on the first page"
    message = (
        f"tenant {tenant!r}: Sonet's {list_name} answer breaks the contract's schema, so none of it is "
        f"used: {record} ({where}): {problem.describe()}"
    )
    raise SonetAnswerError(
        scrub(message)[:1000],
        code="INVALID_ANSWER",
        tenant=tenant,
        entity=list_name,
        field=problem.field,
        key=key,
        cursor=cursor,
    )
