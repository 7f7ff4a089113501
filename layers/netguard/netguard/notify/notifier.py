"""The `Notifier` protocol, and the event ledger both notifiers use for idempotency and failures.

The ledger claims each event id before any work (a conditional write, so concurrent duplicates lose),
releases the claim when a retryable error will bring the event back, and keeps a failure record when
a permanent error means it never will.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from netguard.enriched.models import EnrichedEvent
from netguard.notify.models import Delivery, Receiver
from netguard.state import StateConflict, StateStore, claim_once

DAY = 86_400


class Notifier(Protocol):
    receiver: Receiver

    def notify(self, event: EnrichedEvent) -> list[Delivery]:
        """Deliver one enriched event; raise `RetryableError` or `PermanentError` on failure."""


class EventLedger:
    """Per-function records of events seen: `idem#<function>` claims and `failure#<function>` records."""

    def __init__(
        self,
        store: StateStore,
        function: str,
        *,
        done_ttl_seconds: int = 2 * DAY,
        failure_ttl_seconds: int = 14 * DAY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._pk = f"idem#{function}"
        self._failure_pk = f"failure#{function}"
        self._done_ttl = done_ttl_seconds
        self._failure_ttl = failure_ttl_seconds
        self._clock = clock

    def begin(self, event_id: str, *, in_progress_seconds: float) -> bool:
        """Claim the event; False when it was (or is being) handled already."""
        return claim_once(
            self._store,
            pk=self._pk,
            sk=event_id,
            ttl_seconds=max(1, int(in_progress_seconds)),
            data={"state": "in_progress"},
        )

    def done(self, event_id: str, deliveries: Sequence[Delivery]) -> None:
        self._store.put(
            pk=self._pk,
            sk=event_id,
            ttl_seconds=self._done_ttl,
            data={
                "state": "done",
                "deliveries": [f"{d.receiver}:{d.action}:{d.outcome}" for d in deliveries],
            },
        )

    def release(self, event_id: str) -> None:
        """Forget the claim so the retried event is handled again."""
        with contextlib.suppress(StateConflict):
            self._store.delete(pk=self._pk, sk=event_id)

    def failed(self, event_id: str, *, code: str, message: str, group_id: str = "", raw: str = "") -> None:
        """Keep the event claimed (no retry storm) and record why it failed, with the message itself
        (`raw`, at most SNS's 256 KB) so nothing is lost: it can be replayed once the cause is fixed."""
        self._store.put(
            pk=self._pk, sk=event_id, ttl_seconds=self._done_ttl, data={"state": "failed", "code": code}
        )
        now = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._store.put(
            pk=self._failure_pk,
            sk=f"{now}#{event_id}",
            ttl_seconds=self._failure_ttl,
            data={
                "event_id": event_id,
                "group_id": group_id,
                "code": code,
                "message": message[:1000],
                "sns_message": raw,
            },
        )
