"""Hostile answers on purpose: what a broken proxy, a bad release or an attacker could put in Sonet's place.

Turned on through `/admin/faults` (or `Faults`): `hostile_message` and `hostile_query` name one shape
each ("" is none), `hostile_share` is the share of answers they spoil (default all). The request is
processed first as usual (a message is judged and, when new, accepted), then its answer is replaced:

| API | shape | the answer |
| --- | --- | --- |
| Message | `entity` | real status; a DOCTYPE declares an entity at `hostile_entity_url`, used in the receipt |
| Message | `parameter_entity` | real status; the DOCTYPE loads `hostile_entity_url`, which declares `sonet` (OOB XXE) |
| Message | `malformed` | real status and content type; the first half of the real answer |
| both | `html_200` | 200, `text/html`: a proxy's error page |
| both | `wrong_content_type` | real status and body, `Content-Type: text/html` |
| both | `huge_body` | real status (Query: 200), `hostile_body_bytes` in chunks, no Content-Length |
| Query | `missing_field` | the last record of the page (or the `salesOrder`) without `hostile_field` |
| Query | `null`, `wrong_type` | that field null, or a value of another JSON type (a string: the float 59.9) |
| Query | `json_number` | 200, `application/json`, the body `42` |

Counters: `hostile_answers` (answers spoiled) and `hostile_bytes` (bytes of huge bodies handed to the
server; a client that stops reading makes the server stop soon after).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from sonet_pipeline.standin.runtime import Company, Faults, Standin

MESSAGE_SHAPES = ("entity", "parameter_entity", "malformed", "html_200", "wrong_content_type", "huge_body")
QUERY_SHAPES = ("missing_field", "null", "wrong_type", "html_200", "wrong_content_type", "huge_body", "json_number")
#: The text settings of `Faults` this module reads, as `/admin/faults` takes them.
TEXT_SETTINGS = ("hostile_message", "hostile_query", "hostile_entity_url", "hostile_field")
_CHUNK = 64 * 1024
_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The upstream server sent an invalid response.</p></body></html>\n"
)
_XML = "application/xml; charset=utf-8"


def check_text_setting(name: str, value: Any) -> str:
    """`value` for the text setting `name`, or ValueError naming what is allowed."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    shapes = {"hostile_message": MESSAGE_SHAPES, "hostile_query": QUERY_SHAPES}.get(name)
    if shapes is not None and value and value not in shapes:
        raise ValueError(f"{name} must be one of {', '.join(shapes)} (or empty), not {value!r}")
    if name == "hostile_field" and not value.isidentifier():
        raise ValueError(f"hostile_field must be a field name, not {value!r}")
    if name == "hostile_entity_url" and any(c in value for c in '"<>%&'):
        raise ValueError("hostile_entity_url must not contain quotes, <, >, % or &")
    return value


def spoil_message_answer(standin: Standin, company: Company, request: Request, answer: Response) -> Response:
    """The Message API answer as the faults want it: `answer` itself, or a hostile version of it."""
    faults = standin.config.faults
    shape = faults.hostile_message
    if not shape or not standin.chance(faults.hostile_share):
        return answer
    company.counters.count_hostile(answers=1)
    status, body = answer.status_code, bytes(answer.body)
    url = faults.hostile_entity_url
    declaration, _, document = body.partition(b"?>")
    if shape == "entity":
        doctype = f'<!DOCTYPE MessageReceipt [<!ENTITY sonet SYSTEM "{url}">]>'.encode()
        document = _replace_text(document, b"SonetOrderNumber", b"&sonet;")
        return Response(declaration + b"?>\n" + doctype + document, status, media_type=_XML)
    if shape == "parameter_entity":
        doctype = f'<!DOCTYPE MessageReceipt [<!ENTITY % remote SYSTEM "{url}"> %remote;]>'.encode()
        document = _replace_text(document, b"SonetOrderNumber", b"&sonet;")  # `sonet` is declared remotely
        return Response(declaration + b"?>\n" + doctype + document, status, media_type=_XML)
    if shape == "malformed":
        return Response(body[: len(body) // 2], status, media_type=_XML)
    return _common_shape(shape, faults, company, request, (status, body, _XML))


def spoil_query_answer(standin: Standin, company: Company, request: Request, result: dict[str, Any]) -> Response:
    """The Query API answer for `result` as the faults want it: plain JSON, or a hostile version."""
    faults = standin.config.faults
    shape = faults.hostile_query
    if not shape or not standin.chance(faults.hostile_share):
        return JSONResponse(result)
    company.counters.count_hostile(answers=1)
    if shape in ("missing_field", "null", "wrong_type"):
        record = _last_record(result.get("data"))
        if record is not None:
            _break_field(record, faults.hostile_field, shape)
        return JSONResponse(result)
    if shape == "json_number":
        return Response(b"42", 200, media_type="application/json")
    body = JSONResponse(result).body
    return _common_shape(shape, faults, company, request, (200, bytes(body), "application/json"))


def _common_shape(
    shape: str, faults: Faults, company: Company, request: Request, answer: tuple[int, bytes, str]
) -> Response:
    status, body, media = answer
    if shape == "html_200":
        return Response(_HTML_PAGE, 200, media_type="text/html; charset=utf-8")
    if shape == "wrong_content_type":
        return Response(body, status, media_type="text/html; charset=utf-8")
    if shape == "huge_body":
        chunks = _huge(company, request, body, faults.hostile_body_bytes)
        return StreamingResponse(chunks, status, media_type=media)
    raise ValueError(f"unknown hostile shape {shape!r}")


async def _huge(company: Company, request: Request, start: bytes, size: int) -> AsyncIterator[bytes]:
    """`start`'s first half, then filler: `size` bytes in all, in chunks, counted as they go out; it
    stops when the client hangs up (uvicorn would quietly drop the rest)."""
    head = start[: len(start) // 2]
    company.counters.count_hostile(body_bytes=len(head))
    yield head
    filler = b" " * _CHUNK
    sent = len(head)
    while sent < size and not await request.is_disconnected():
        chunk = filler[: min(_CHUNK, size - sent)]
        company.counters.count_hostile(body_bytes=len(chunk))
        sent += len(chunk)
        yield chunk


def _replace_text(document: bytes, element: bytes, text: bytes) -> bytes:
    start = document.find(b"<" + element + b">")
    end = document.find(b"</" + element + b">")
    if start < 0 or end < 0:
        return document
    return document[: start + len(element) + 2] + text + document[end:]


def _last_record(data: Any) -> dict[str, Any] | None:
    """The last node of the first list in `data`, or the `salesOrder` object; None when there is none."""
    if not isinstance(data, dict):
        return None
    for value in data.values():
        if isinstance(value, dict) and isinstance(value.get("edges"), list):
            edges = value["edges"]
            return edges[-1]["node"] if edges else None
        if isinstance(value, dict):
            return value
    return None


def _break_field(record: dict[str, Any], name: str, shape: str) -> None:
    if shape == "missing_field":
        record.pop(name, None)
    elif shape == "null":
        record[name] = None
    else:
        value = record.get(name)
        record[name] = 59.9 if isinstance(value, str) else "59.90" if isinstance(value, bool | int) else 0
