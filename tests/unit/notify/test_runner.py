"""process_record: claims, duplicates, and the failure policy (retryable released, permanent recorded)."""

from __future__ import annotations

import pytest

from netguard.enriched import EnrichedEvent, event_from_json
from netguard.errors import NetguardError
from netguard.notify import Budget, Delivery, DeliveryPermanent, DeliveryRetryable, EventLedger, Outcome
from netguard.notify.models import Receiver
from netguard.notify.runner import RecordStatus, process_record
from netguard.state import MemoryStore, OnceOutcome
from tests.support import builders


class Scripted:
    receiver = Receiver.SLACK

    def __init__(self, *errors: NetguardError | None) -> None:
        self.errors = list(errors)
        self.calls = 0

    def notify(self, event: EnrichedEvent) -> list[Delivery]:
        self.calls += 1
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        return [Delivery(Receiver.SLACK, Outcome.SENT, "post")]


def _run(notifier: Scripted, ledger: EventLedger) -> RecordStatus:
    [record] = builders.sns_event(builders.alert_group())["Records"]
    return process_record(
        record, notifier=lambda: notifier, ledger=ledger, budget=Budget(lambda: 30.0)
    ).status


class TestProcessRecord:
    def test_second_delivery_is_a_duplicate(self) -> None:
        """An event id handled once is not handled again."""
        notifier, ledger = Scripted(), EventLedger(MemoryStore(), "f")
        assert [_run(notifier, ledger) for _ in range(2)] == [RecordStatus.DELIVERED, RecordStatus.DUPLICATE]
        assert notifier.calls == 1

    def test_retryable_failure_releases_the_claim(self) -> None:
        """After a retryable failure the same event is handled again."""
        notifier, ledger = (
            Scripted(DeliveryRetryable("slack", "http_503", "down")),
            EventLedger(MemoryStore(), "f"),
        )
        assert [_run(notifier, ledger) for _ in range(2)] == [RecordStatus.RETRY, RecordStatus.DELIVERED]

    def test_permanent_failure_is_recorded_once(self) -> None:
        """A permanent failure keeps the claim and leaves one failure record."""
        store = MemoryStore()
        notifier, ledger = Scripted(DeliveryPermanent("slack", "invalid_auth", "no")), EventLedger(store, "f")
        assert [_run(notifier, ledger) for _ in range(2)] == [RecordStatus.FAILED, RecordStatus.DUPLICATE]
        [failure] = store.query(pk="failure#f")
        assert failure.data["code"] == "invalid_auth"
        # The message itself is kept, so it can be replayed once the cause is fixed.
        assert event_from_json(failure.data["sns_message"]).event_id == failure.data["event_id"]
        assert notifier.calls == 1

    def test_in_progress_claim_expires(self) -> None:
        """A claim left by a crashed invocation blocks duplicates only for the time it had, then
        Lambda's retry proceeds (Powertools' in-progress expiry)."""

        class Crash(BaseException):
            """What a killed invocation looks like to the ledger: no chance to release its claim."""

        def crash() -> None:
            raise Crash

        ran: list[str] = []
        for window, after in ((40.0, OnceOutcome.IN_FLIGHT), (-1.0, OnceOutcome.RAN)):
            ledger = EventLedger(MemoryStore(), "f")
            with pytest.raises(Crash):
                ledger.once("e1", crash, in_progress_seconds=window)
            assert ledger.once("e1", lambda: ran.append("e1"), in_progress_seconds=40) is after
        assert ran == ["e1"]
