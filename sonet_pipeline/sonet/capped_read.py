"""Reading an answer's body with a size cap, as it streams: a 50 MB answer costs at most the cap.

Both Sonet clients read through here. A declared `Content-Length` over the cap is refused before any
byte is read; otherwise chunks are read until the body ends or passes the cap, and then the connection
is closed (never drained), so the rest of the body is never read.
"""

from __future__ import annotations

import requests

#: Chunks read at a time (decoded bytes).
CHUNK_BYTES = 64 * 1024


class AnswerRefused(Exception):
    """An answer the client will not read or parse; `.code` says why (`TOO_LARGE`, `CONTENT_TYPE`)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def read_capped(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    """The body of a streamed `response` and False, or its first `limit` bytes and True when it is
    longer (the connection is then closed, the rest never read)."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        response.close()
        return b"", True
    body = bytearray()
    for chunk in response.iter_content(CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            response.close()
            return bytes(body[:limit]), True
    return bytes(body), False


def media_type(response: requests.Response) -> str:
    """The answer's media type, lower case, without parameters ("" when absent)."""
    return response.headers.get("Content-Type", "").partition(";")[0].strip().lower()


def too_large(limit: int) -> str:
    return f"the answer is over {limit} bytes ({limit // (1024 * 1024)} MiB); reading stopped there"
