"""Query API nodes to typed frames and back: the one place that knows how a Sonet value is stored.

`to_frame` turns raw nodes (JSON as Sonet sent them) into one typed column per contract field:
text and enums stay text; booleans stay booleans; decimals stay the exact text Sonet sent ("59.90");
DateTimes with any UTC offset become timezone-aware UTC instants (microseconds; Sonet sends ms);
lists and objects become canonical JSON text (list order and object keys as sent). `_hash` is a
content hash of every field, stable across processes and versions, so an upsert can tell a real change.

`to_graphql` gives a stored row back in the contract's shape for `store dump`: every field, nulls
included, decimals as stored, DateTimes as UTC `Z` with milliseconds, JSON fields parsed back.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]  # typeshed gap
from operator import itemgetter
from typing import Any

import pandas as pd

from sonet_pipeline.sonet.entities import BOOLEAN, DATETIME, DECIMAL, INTEGER, JSON, Entity, Field, entity

HASH = "_hash"
_OFFSET = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"
_DUMP_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_HASH_JSON = json.JSONEncoder(separators=(",", ":")).encode
_OFFSET_RE = re.compile(_OFFSET)
# The C encoder behind `_HASH_JSON`, built once: `json.JSONEncoder.encode` builds it again for every
# call, which was most of the hash's cost. Same output (checked in tests/store/test_records.py).
_REFUSE = json.JSONEncoder().default  # raises the usual "is not JSON serializable" TypeError
_HASH_ROW = (
    c_make_encoder(None, _REFUSE, encode_basestring_ascii, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)
_DUMP_VALUE = (
    c_make_encoder({}, _REFUSE, encode_basestring, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)


class RecordError(ValueError):
    """A node the store cannot take: a required field missing, a value of the wrong type, a bad DateTime."""

    def __init__(self, entity: str, key: Any, field: str, problem: str) -> None:
        super().__init__(f"{entity} {key!r}: field {field!r} {problem}")
        self.entity, self.key, self.field, self.problem = entity, key, field, problem


def as_entity(spec: Entity | str) -> Entity:
    """An Entity, given one or its pipeline name ("items"); every store function takes either."""
    return spec if isinstance(spec, Entity) else entity(spec)


def to_frame(entity: Entity | str, records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per node, one typed column per contract field in contract order, plus `_hash`."""
    entity = as_entity(entity)
    names = entity.field_names
    try:  # every field present (the usual case): one C-level pass per record, then transpose
        rows = list(map(itemgetter(*names), records)) if len(names) > 1 else [(r[names[0]],) for r in records]
        raws: list[list[Any]] = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in names]
    except KeyError:  # a field missing somewhere: it reads as null (and is refused if required)
        raws = [[record.get(name) for record in records] for name in names]
    keys = raws[names.index(entity.key)]
    columns: dict[str, pd.Series] = {}
    canonical: list[list[Any]] = []
    for field, raw in zip(entity.fields, raws, strict=True):
        _check_required(entity, field, raw, keys)
        column, text = _convert(entity, field, raw, keys)
        columns[field.name] = column
        canonical.append(text)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(records)))
    frame[HASH] = _hashes(canonical)
    return frame


def to_graphql(entity: Entity | str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row (a dict, a tuple zipped with names, a pandas row) back in the contract's shape."""
    entity = as_entity(entity)
    return {field.name: _to_value(field, row[field.name]) for field in entity.fields}


def format_instant(value: datetime) -> str:
    """`2026-11-28T04:38:00.123Z`: UTC, `Z`, milliseconds (finer digits are cut, as Sonet has none)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: an instant needs an offset")
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _hashes(canonical: list[list[Any]]) -> list[str]:
    """Per row, a BLAKE2b of the JSON list of its canonical field values (in contract order)."""
    rows = zip(*canonical, strict=True)
    blake2b = hashlib.blake2b
    if _HASH_ROW is None:  # no C accelerator: the same text, slower
        return [blake2b(_HASH_JSON(row).encode(), digest_size=16).hexdigest() for row in rows]
    encode = _HASH_ROW
    return [blake2b("".join(encode(row, 0)).encode(), digest_size=16).hexdigest() for row in rows]


def _check_required(entity: Entity, field: Field, raw: list[Any], keys: list[Any]) -> None:
    if field.nullable or None not in raw:
        return
    for position, value in enumerate(raw):
        if value is None:
            raise RecordError(entity.name, keys[position], field.name, "is required but missing or null")


def _convert(entity: Entity, field: Field, raw: list[Any], keys: list[Any]) -> tuple[pd.Series, list[Any]]:
    """The typed column and, per row, the canonical text the hash covers (None for null)."""
    if field.kind == DATETIME:
        return _instants(entity, field, raw, keys)
    if field.kind == JSON:
        for position, value in enumerate(raw):
            if value is not None and not isinstance(value, list | dict):
                raise RecordError(entity.name, keys[position], field.name, f"is not a list or object: {value!r}")
        if _DUMP_VALUE is None:
            text = [None if value is None else _DUMP_JSON(value) for value in raw]
        else:  # `_DUMP_JSON`'s output, without building its encoder again per value
            dump = _DUMP_VALUE
            text = [None if value is None else "".join(dump(value, 0)) for value in raw]
        return pd.Series(text, dtype="str"), text
    if field.kind == BOOLEAN:
        _check_types(entity, field, raw, keys, bool)
        return pd.Series(raw, dtype="boolean"), raw
    if field.kind == INTEGER:
        _check_types(entity, field, raw, keys, int)
        return pd.Series(raw, dtype="Int64"), raw
    if field.kind == DECIMAL:
        # The contract sends decimals as strings; a bare JSON number is kept as Python wrote it.
        if set(map(type, raw)) <= {str, type(None)}:
            text = raw
        else:
            text = [value if isinstance(value, str) or value is None else str(value) for value in raw]
        return pd.Series(text, dtype="str"), text
    _check_types(entity, field, raw, keys, str)
    return pd.Series(raw, dtype="str"), raw


def _check_types(entity: Entity, field: Field, raw: list[Any], keys: list[Any], kind: type) -> None:
    if set(map(type, raw)) <= {kind, type(None)}:
        return
    for position, value in enumerate(raw):
        if value is not None and (type(value) is not kind):
            raise RecordError(entity.name, keys[position], field.name, f"is not a {kind.__name__}: {value!r}")


def _instants(entity: Entity, field: Field, raw: list[Any], keys: list[Any]) -> tuple[pd.Series, list[Any]]:
    text = pd.Series(raw, dtype="str")
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce").dt.as_unit("us")
    search = _OFFSET_RE.search
    offset = [value is not None and (value[-1:] == "Z" or search(value) is not None) for value in raw]
    bad = text.notna() & (parsed.isna() | ~pd.Series(offset, dtype=bool))
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        problem = f"is not a DateTime with a UTC offset: {raw[position]!r}"
        raise RecordError(entity.name, keys[position], field.name, problem)
    micros = parsed.dt.tz_localize(None).to_numpy().view("int64").tolist()  # NaT: a sentinel, masked below
    if None in raw or parsed.isna().any():
        mask = parsed.isna().to_numpy().tolist()
        micros = [None if missing else value for value, missing in zip(micros, mask, strict=True)]
    return parsed, micros


def _to_value(field: Field, value: Any) -> Any:
    if _is_null(value):
        return None
    if field.kind == DATETIME:
        return format_instant(pd.Timestamp(value).to_pydatetime())
    if field.kind == JSON:
        return json.loads(value)
    if field.kind == BOOLEAN:
        return bool(value)
    if field.kind == INTEGER:
        return int(value)
    return str(value)


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)
