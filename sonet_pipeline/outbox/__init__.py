"""The outbox: durable web-shop orders on their way to Sonet (pure core: no Dagster).

`model` holds the states, the table of moves and the dataclasses; `store` the one set of semantics
over SQLite (`sqlite_store`) and PostgreSQL (`postgres_store`); `factory.open_outbox` picks one.
"""

from sonet_pipeline.outbox.factory import open_outbox
from sonet_pipeline.outbox.model import (
    BUILD_CODES,
    FAILED,
    PENDING,
    RETRY_EXHAUSTED,
    SENDING,
    SENT,
    TOO_LARGE,
    UNMAPPABLE,
    Enqueued,
    ErrorInfo,
    Event,
    Message,
    Move,
    OrderConflict,
    OutboxError,
    RefusedVersion,
    Selection,
    State,
    UnknownMessage,
    to_json,
)
from sonet_pipeline.outbox.store import Outbox

__all__ = [
    "BUILD_CODES",
    "FAILED",
    "PENDING",
    "RETRY_EXHAUSTED",
    "SENDING",
    "SENT",
    "TOO_LARGE",
    "UNMAPPABLE",
    "Enqueued",
    "ErrorInfo",
    "Event",
    "Message",
    "Move",
    "OrderConflict",
    "Outbox",
    "OutboxError",
    "RefusedVersion",
    "Selection",
    "State",
    "UnknownMessage",
    "open_outbox",
    "to_json",
]
