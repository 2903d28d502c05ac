"""Each point's payload and result as JSON schemas (package data): `<point>.payload.json`, `<point>.result.json`."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

PAYLOAD, RESULT = "payload", "result"


@cache
def schema(point: str, part: str) -> dict[str, Any]:
    """The JSON schema of `point`'s `part` (PAYLOAD or RESULT): an array of records."""
    text = files(__name__).joinpath(f"{point}.{part}.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
