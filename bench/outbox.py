"""How fast the outbox takes orders and hands them to senders, on SQLite (WAL, synchronous=FULL) and PostgreSQL.

- enqueue, one commit each: what an intake that commits every order before answering can absorb;
- `enqueue_many`, batches of 100 and 1,000 (one commit per batch): what grouped commits absorb;
- claim + mark_sent: claims of 100, then one `mark_sent` (one commit) per message, as a sender does.

PostgreSQL runs in a throwaway schema, dropped afterwards; it is skipped when unreachable.

    .venv/bin/python bench/outbox.py [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sonet_pipeline.outbox import Outbox
from sonet_pipeline.outbox.postgres_store import PostgresOutbox
from sonet_pipeline.outbox.sqlite_store import SqliteOutbox

DEFAULT_DSN = os.environ.get("SONET_PIPELINE_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def order(number: str) -> dict[str, Any]:
    """A two-line B2B order, about the size of the contract's example."""
    address = {
        "name": "Rakennus Oy",
        "street": "Teollisuuskatu 12",
        "postalCode": "00510",
        "city": "Helsinki",
        "countryCode": "FI",
    }
    return {
        "orderNumber": number,
        "createdAt": "2026-11-28T04:38:00Z",
        "currency": "EUR",
        "customer": {"kind": "account", "customerNumber": "C10042", "contactId": "C10042-2"},
        "billingAddress": address,
        "deliveryAddress": address,
        "deliveryMethod": "POSTI-B2B",
        "paymentMethod": "INVOICE-14",
        "lines": [
            {"sku": "BOOT-PRO-43", "quantity": "2", "unitPrice": "59.90", "discountPercent": "10", "vatRate": "25.5"},
            {"sku": "GLOVE-WORK", "quantity": "12", "unitPrice": "4.15", "vatRate": "25.5", "variant": {"Size": "L"}},
        ],
    }


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(outbox: Outbox, scale: float) -> list[tuple[str, int, float]]:
    figures: list[tuple[str, int, float]] = []
    prefix = uuid.uuid4().hex[:8]

    def singles(count: int) -> None:
        for n in range(count):
            outbox.enqueue("single", order(f"{prefix}-{n}"), actor="bench", now=NOW)

    def batches(tenant: str, size: int, count: int) -> None:
        for start in range(0, count, size):
            outbox.enqueue_many(
                tenant, [order(f"{prefix}-{n}") for n in range(start, start + size)], actor="bench", now=NOW
            )

    def send_all(count: int) -> None:
        done = 0
        while done < count:
            for message in outbox.claim("single", now=NOW, limit=100, owner="bench", claim_seconds=60):
                outbox.mark_sent(
                    message.message_id, sonet_order_number=f"SO-{done}", duplicate=False, actor="bench", now=NOW
                )
                done += 1

    single = int(2_000 * scale)
    figures.append(("enqueue, one commit each", single, single / timed(lambda: singles(single))))
    for size, wanted in ((100, int(20_000 * scale)), (1_000, int(40_000 * scale))):
        count = max(size, wanted // size * size)
        seconds = timed(lambda size=size, count=count: batches(f"b{size}", size, count))
        figures.append((f"enqueue_many, batches of {size:,}", count, count / seconds))
    figures.append(("claim 100 + mark_sent each", single, single / timed(lambda: send_all(single))))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every order count by this")
    args = parser.parse_args()
    rows: list[tuple[str, str, int, float]] = []
    with tempfile.TemporaryDirectory() as folder, SqliteOutbox(Path(folder) / "outbox.sqlite") as sqlite:
        rows += [("SQLite (WAL, FULL)", *figure) for figure in measure(sqlite, args.scale)]
    try:
        postgres = PostgresOutbox(args.dsn, schema=f"bench_outbox_{uuid.uuid4().hex[:8]}")
    except Exception as error:  # reported; the SQLite figures are still printed
        print(f"PostgreSQL skipped: {error}")
    else:
        try:
            rows += [("PostgreSQL", *figure) for figure in measure(postgres, args.scale)]
        finally:
            postgres.drop_schema()
    print(f"{'store':<20} {'what':<32} {'orders':>8} {'orders/s':>10}")
    for store, what, count, per_second in rows:
        print(f"{store:<20} {what:<32} {count:>8,} {per_second:>10,.0f}")


if __name__ == "__main__":
    main()
