"""The `Notifier` protocol, and the event ledger both notifiers use for idempotency and failures.

Once-only handling of an event id is Powertools' idempotency (`netguard.state.Once`): claimed before
any work (concurrent duplicates lose), in progress for the invocation's remaining time, deleted when a
retryable error will bring the event back. What Powertools cannot express stays here: the failure
record that keeps a permanently failed message (with its body) for replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from netguard.enriched.models import EnrichedEvent
from netguard.notify.models import Delivery, Receiver
from netguard.state import Once, OnceOutcome, StateStore

DAY = 86_400


class Notifier(Protocol):
    receiver: Receiver

    def notify(self, event: EnrichedEvent) -> list[Delivery]:
        """Deliver one enriched event; raise `RetryableError` or `PermanentError` on failure."""


class EventLedger:
    """Per-function records of events seen: `idem#<function>` (Powertools) and `failure#<function>`."""

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
        self._failure_pk = f"failure#{function}"
        self._failure_ttl = failure_ttl_seconds
        self._clock = clock
        self._in_progress = 60.0
        self._once = Once(
            store,
            f"idem#{function}",
            ttl_seconds=done_ttl_seconds,
            in_progress_seconds=lambda: self._in_progress,
        )

    def once(self, event_id: str, action: Callable[[], object], *, in_progress_seconds: float) -> OnceOutcome:
        """Run `action` unless the event was (or is being) handled; its exception releases the claim."""
        self._in_progress = in_progress_seconds
        return self._once.run(event_id, action)

    def failed(self, event_id: str, *, code: str, message: str, group_id: str = "", raw: str = "") -> None:
        """Record why the event failed, with the message itself (`raw`, at most SNS's 256 KB) so nothing
        is lost: it can be replayed once the cause is fixed. Called inside `once`, so the claim completes
        and the event is not retried (no retry storm for a permanent error)."""
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
