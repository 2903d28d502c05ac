"""`sonet-pipeline orders enqueue FILE --tenant T`: put the orders of a file into the outbox.

The file holds one JSON object, a JSON array, or JSON Lines. Detection: the first non-space character
`[` means an array; `{` means one object if the whole file parses as one, else JSON Lines; anything
else is read as JSON Lines. Each order is judged alone (`payload.judge_order`: the schema and the
intake's semantic rules, as at the HTTP intake) and the valid ones are enqueued with `enqueue_many`,
500 to a transaction. Every order gets an entry in the report, placed by its line (JSON Lines, from
1), its index (array, from 0), or as the document:

- `accepted`: new in the outbox (`pending`);
- `duplicate`: the same order was already there (nothing changed);
- `conflict`: the tenant has this orderNumber with other content (not stored; `message_id` names it);
- `refused`: invalid (not JSON, schema, semantic rule), or not allowed by the shop's published rights
  (`rights_gate`: NOT_ALLOWED, or RIGHTS_UNKNOWN before the tenant's first sync); not stored; `error`
  says why and where (a rights refusal's message names the rule and the limit). An order the
  rights refuse now but the outbox holds already (stored before its rights changed) is `duplicate`;
- `kept_failed`: NOT_ALLOWED, and the tenant's `order_rights.not_allowed` is `store_failed`: stored
  as a `failed` message (code NOT_ALLOWED) for an operator, never sent unless one resends it.

Prices are judged as at the HTTP intake (`price_gate`): an order the rights let in with lines not at
the buyer's price is `refused` (PRICE_MISMATCH, naming the lines) when the tenant's
`order_prices.mismatch` is `refuse`; else it is stored with the lines flagged (`price_mismatches` of
its entry and of its message).

An order that is valid but cannot become a SalesOrder is accepted here; it becomes `failed`
(UNMAPPABLE) when its message is built. `exit_code` is 1 when any order was refused, kept failed or
conflicts.
A file that cannot be read at all (missing, not UTF-8, an array that does not parse, no orders)
raises `EnqueueFileError`. An outbox failure propagates; the batches committed before it stay stored,
and running the file again is safe (they come back as duplicates).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sonet_pipeline.common.clock import Clock, SystemClock
from sonet_pipeline.config.tenants import Tenant
from sonet_pipeline.intake.committer import already_stored
from sonet_pipeline.intake.payload import BadPayload, first_problem, judge_order, may_hold_surrogates, parse_json
from sonet_pipeline.intake.price_gate import PublishedPrices, judge_prices, price_error, price_notes
from sonet_pipeline.intake.rights_gate import (
    NOT_ALLOWED,
    RIGHTS_UNKNOWN,
    PublishedRights,
    RightsRefusal,
    is_account_order,
    judge_rights,
)
from sonet_pipeline.orders.validation import OrderProblem
from sonet_pipeline.outbox import Enqueued, Outbox
from sonet_pipeline.outbox.model import FAILED
from sonet_pipeline.outbox.moves import OrderError, PriceFlags

ACTOR = "cli: orders enqueue"
BATCH_SIZE = 500

Outcome = Literal["accepted", "duplicate", "conflict", "refused", "kept_failed"]
OUTCOMES: tuple[Outcome, ...] = ("accepted", "duplicate", "conflict", "refused", "kept_failed")
Layout = Literal["object", "array", "lines"]


class EnqueueFileError(ValueError):
    """The file as a whole cannot be read as orders; the message names the file and why."""


@dataclass(frozen=True)
class FileOrder:
    """One order of the file and what became of it."""

    line: int | None
    index: int | None
    order_number: str | None
    outcome: Outcome
    message_id: str | None = None
    state: str | None = None
    error: OrderProblem | None = None
    #: The lines not at the buyer's price, flagged and stored with the message (`price_gate.price_notes`).
    price_mismatches: list[dict[str, Any]] | None = None

    @property
    def position(self) -> str:
        if self.line is not None:
            return f"line {self.line}"
        return f"index {self.index}" if self.index is not None else "the document"

    def describe(self) -> str:
        """One line for stderr: `line 3: refused: SCHEMA lines[0].quantity: ...`."""
        number = f" (order {self.order_number})" if self.order_number else ""
        if self.error is not None:
            field = f" {self.error.field}" if self.error.field else ""
            return f"{self.position}{number}: {self.outcome}: {self.error.code}{field}: {self.error.message}"
        flagged = ""
        if self.price_mismatches:
            flagged = "; price mismatch at " + ", ".join(str(m["field"]) for m in self.price_mismatches)
        return f"{self.position}{number}: {self.outcome}: message {self.message_id} ({self.state}){flagged}"


@dataclass(frozen=True)
class EnqueueReport:
    path: str
    tenant: str
    layout: Layout
    orders: list[FileOrder]

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(order.outcome for order in self.orders)
        return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def exit_code(self) -> int:
        counts = self.counts
        return 1 if counts["refused"] or counts["conflict"] or counts["kept_failed"] else 0


@dataclass(frozen=True)
class _Entry:
    line: int | None
    index: int | None
    value: Any
    problem: OrderProblem | None


def enqueue_file(
    path: Path | str,
    *,
    tenant: Tenant,
    outbox: Outbox,
    clock: Clock | None = None,
    actor: str = ACTOR,
    batch_size: int = BATCH_SIZE,
    rights: PublishedRights | None = None,
    prices: PublishedPrices | None = None,
) -> EnqueueReport:
    """`rights`: where the tenant's published rights are read (default: its snapshot, `store.open_snapshot`);
    `prices`: its buyers' prices (default: from the snapshot `rights` reads)."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise EnqueueFileError(f"{source}: cannot read the file: {exc.strerror or exc}") from None
    layout, entries = _read_entries(raw, name=str(source))
    clock = clock or SystemClock()
    check_text = may_hold_surrogates(raw)
    rights = rights or PublishedRights()
    prices = prices or PublishedPrices(rights.snapshot_for, clock=rights.clock)
    keep = tenant.order_rights.not_allowed == "store_failed"
    results: list[FileOrder | None] = []
    valid: list[tuple[int, _Entry, OrderError | None, PriceFlags | None]] = []
    for entry in entries:
        problems = [entry.problem] if entry.problem else judge_order(entry.value, check_text=check_text)
        if problems:
            results.append(_refused(entry, first_problem(problems)))
            continue
        book = rights.book(tenant) if is_account_order(entry.value) else None
        refusal = judge_rights(tenant, entry.value, book)
        if refusal is not None and (refusal.code == RIGHTS_UNKNOWN or not keep):
            existing = already_stored(outbox, tenant.name, entry.value) if refusal.code == NOT_ALLOWED else None
            results.append(_refused(entry, _problem(refusal)) if existing is None else _settled(entry, existing))
            continue
        mismatches = judge_prices(entry.value, prices.get(tenant))
        if mismatches and refusal is None and tenant.order_prices.mismatch == "refuse":
            existing = already_stored(outbox, tenant.name, entry.value)
            error = price_error(entry.value, mismatches)
            problem = OrderProblem(error["code"], error["message"], error["field"])
            results.append(_refused(entry, problem) if existing is None else _settled(entry, existing))
            continue
        failure = None if refusal is None else _problem_error(_problem(refusal))
        valid.append((len(results), entry, failure, price_notes(mismatches)))
        results.append(None)
    for start in range(0, len(valid), batch_size):
        chunk = valid[start : start + batch_size]
        orders = [entry.value for _, entry, _, _ in chunk]
        failures = [failure for _, _, failure, _ in chunk]
        flags = [flag for _, _, _, flag in chunk]
        outcomes = outbox.enqueue_many(
            tenant.name,
            orders,
            actor=actor,
            now=clock.now(),
            failures=failures if any(failures) else None,
            price_flags=flags if any(flags) else None,
        )
        for (slot, entry, failure, flag), outcome in zip(chunk, outcomes, strict=True):
            settled = _settled(entry, outcome, failure)
            results[slot] = dataclasses.replace(settled, price_mismatches=flag) if flag else settled
    return EnqueueReport(str(source), tenant.name, layout, [result for result in results if result is not None])


def _problem(refusal: RightsRefusal) -> OrderProblem:
    """A rights refusal as an order problem; its message names the rule (and the limit)."""
    limit = f", limit {refusal.limit}" if refusal.limit else ""
    return OrderProblem(refusal.code, f"{refusal.message} [rule {refusal.rule}{limit}]", refusal.field)


def _problem_error(problem: OrderProblem) -> OrderError:
    return {"code": problem.code, "message": problem.message, "field": problem.field}


def _read_entries(raw: bytes, *, name: str = "the file") -> tuple[Layout, list[_Entry]]:
    """The file's layout and its orders, each parsed alone (a line that does not parse is an entry
    with a problem, not an error of the file)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EnqueueFileError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    start = text.lstrip()[:1]
    if not start:
        raise EnqueueFileError(f"{name}: no orders (the file is empty)")
    if start == "[":
        try:
            values = parse_json(text)
        except BadPayload as exc:
            raise EnqueueFileError(f"{name}: the JSON array cannot be read: {exc}") from None
        return "array", [_Entry(None, index, value, None) for index, value in enumerate(values)]
    if start == "{":
        try:
            value = parse_json(text)
        except BadPayload:
            pass
        else:
            return "object", [_Entry(None, None, value, None)]
    return "lines", list(_lines(text))


def _lines(text: str) -> Iterator[_Entry]:
    # Only "\n" ends a line: `splitlines` would also cut at U+2028 and others, which JSON strings may hold.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield _Entry(number, None, parse_json(line), None)
        except BadPayload as exc:
            yield _Entry(number, None, None, OrderProblem("INVALID_JSON", str(exc), None))


def _order_number(value: Any) -> str | None:
    number = value.get("orderNumber") if isinstance(value, dict) else None
    if not isinstance(number, str):
        return None
    return number[:60].encode("utf-8", "backslashreplace").decode("utf-8")  # printable, whatever it holds


def _refused(entry: _Entry, problem: OrderProblem) -> FileOrder:
    return FileOrder(entry.line, entry.index, _order_number(entry.value), "refused", error=problem)


def _settled(entry: _Entry, outcome: Any, failure: OrderError | None = None) -> FileOrder:
    number = _order_number(entry.value)
    if failure is not None and isinstance(outcome, Enqueued) and outcome.state == FAILED:
        problem = OrderProblem(str(failure["code"]), str(failure["message"]), failure["field"])
        return FileOrder(
            entry.line, entry.index, number, "kept_failed", outcome.message_id, str(outcome.state), error=problem
        )
    if isinstance(outcome, Enqueued):
        kind: Outcome = "accepted" if outcome.created else "duplicate"
        return FileOrder(entry.line, entry.index, number, kind, outcome.message_id, str(outcome.state))
    problem = OrderProblem("ORDER_CONFLICT", str(outcome), "orderNumber")
    return FileOrder(entry.line, entry.index, number, "conflict", outcome.message_id, error=problem)
