"""A send run's claims: how many messages it takes at once, and keeping them while it lives.

A run never claims every due message at once: it claims what the tenant's Message API rate sends in a
few seconds (`claim_size`), for `CLAIM_SECONDS`, claims more when half of those are gone to Sonet
(holding at most twice the size, answers not yet settled included), and renews the claims it still
holds every `RENEW_SECONDS` (`HeldClaims.heartbeat`, a thread) until each is settled. A run
that is killed (SIGKILL, a lost machine) stops renewing: its messages are claimable again at most
`CLAIM_SECONDS` after its last renewal, by the next run, which resends them as the same bytes under
the same MessageId (Sonet answers DUPLICATE to one that had arrived). The claim's expiry is the safety
net for dead runs only; a lost answer has its own retry time (`LostAnswers`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime

from sonet_pipeline.common.clock import Clock
from sonet_pipeline.outbox.store import Outbox

#: A run claims what the tenant's rate sends in this many seconds (at least its max in flight) at once.
BATCH_SECONDS = 4.0
#: How long a claim lasts without renewal: how long a killed run's messages wait for the next run.
CLAIM_SECONDS = 10.0
#: How often a live run renews its claims (real time: a few renewals fit in one claim).
RENEW_SECONDS = 3.0
#: A run waits for its own lost answers' retry times this far ahead; later ones are the next run's.
LOST_WAIT_SECONDS = 30.0

log = logging.getLogger(__name__)


def claim_size(rate: float, in_flight: int) -> int:
    """How many messages a run claims at once: what `rate` (messages per second) sends in
    `BATCH_SECONDS`, at least `in_flight` (and at least one). It holds at most twice that."""
    if rate <= 0:
        raise ValueError(f"a rate must be positive, got {rate}")
    return max(1, in_flight, math.ceil(rate * BATCH_SECONDS))


class HeldClaims:
    """The messages a run holds and has not settled yet; a heartbeat renews their claims.

    Thread-safe. A settlement runs under `settling`, so that a renewal never lengthens a claim the
    settlement just shortened (a lost answer's retry time)."""

    def __init__(
        self,
        outbox: Outbox,
        owner: str,
        clock: Clock,
        *,
        claim_seconds: float = CLAIM_SECONDS,
        renew_every: float = RENEW_SECONDS,
    ) -> None:
        if not 0 < renew_every < claim_seconds:
            raise ValueError(f"renew every {renew_every} s: needs 0 < renew_every < claim_seconds ({claim_seconds})")
        self.outbox, self.owner, self.clock = outbox, owner, clock
        self.claim_seconds, self.renew_every = claim_seconds, renew_every
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        #: How many renewals ran, and how many of them failed (the outbox unavailable): for reports.
        self.renewals = 0
        self.failed_renewals = 0

    def add(self, message_ids: Iterable[str]) -> None:
        with self._lock:
            self._ids.update(message_ids)

    def discard(self, message_id: str) -> None:
        with self._lock:
            self._ids.discard(message_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    @contextlib.contextmanager
    def settling(self, message_id: str) -> Iterator[None]:
        """Settle the message in the block; it is no longer held afterwards, whatever happened."""
        with self._lock:
            try:
                yield
            finally:
                self._ids.discard(message_id)

    def renew(self) -> list[str]:
        """Renew the claims held to now + claim_seconds; the ids renewed. One another run took (this
        run was too slow to renew it in time) is no longer held, and said so."""
        with self._lock:
            ids = sorted(self._ids)
            if not ids:
                return []
            renewed = self.outbox.renew_claims(
                ids, owner=self.owner, now=self.clock.now(), claim_seconds=self.claim_seconds
            )
            gone = set(ids) - set(renewed)
            self._ids -= gone
            self.renewals += 1
        if gone:
            log.warning(
                "%s: %d claim(s) expired before they were renewed and are another run's now (e.g. %s); "
                "that run resends the same bytes",
                self.owner,
                len(gone),
                min(gone),
            )
        return renewed

    @contextlib.contextmanager
    def heartbeat(self) -> Iterator[HeldClaims]:
        """Renew the claims held every `renew_every` seconds of real time while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.renew_every):
                try:
                    self.renew()
                except Exception as error:  # the outbox unavailable: try again at the next beat
                    self.failed_renewals += 1
                    log.warning("%s: renewing its claims failed (%s: %s)", self.owner, type(error).__name__, error)

        thread = threading.Thread(target=beat, name=f"claims-{self.owner}"[:60], daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()


class LostAnswers:
    """A run's messages whose answer was lost, each with the instant it is due again (not thread-safe:
    the run's main thread only)."""

    def __init__(self, horizon_seconds: float = LOST_WAIT_SECONDS) -> None:
        self.horizon_seconds = horizon_seconds
        self._due: dict[str, datetime] = {}

    def note(self, message_id: str, retry_at: datetime, now: datetime) -> None:
        """Wait for this one in this run when it is due within the horizon; else leave it to a later run."""
        if (retry_at - now).total_seconds() <= self.horizon_seconds:
            self._due[message_id] = retry_at

    def any_due(self, now: datetime) -> bool:
        return any(at <= now for at in self._due.values())

    def claimed_at(self, now: datetime) -> None:
        """A claim ran at `now`: every lost answer due by then was taken by it (or by another run)."""
        self._due = {mid: at for mid, at in self._due.items() if at > now}

    def seconds_to_next(self, now: datetime) -> float | None:
        """Seconds until the next one is due (0 when one is), or None when none is left."""
        if not self._due:
            return None
        return max(0.0, (min(self._due.values()) - now).total_seconds())
