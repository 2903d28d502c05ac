"""JSON paths into a web-shop order, as errors name them: `lines[2].quantity`, `customer.customerNumber`.

A key that is not a plain identifier (a variant attribute such as `Size (EU)`) is written in brackets as
a JSON string: `lines[0].variant["Size (EU)"]`. The order itself is the empty path, written as None by
callers that report a field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(parts: Iterable[str | int]) -> str:
    """`["lines", 2, "quantity"]` -> `lines[2].quantity`."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)
