"""MessageProcessor: idempotent publishing, partial failures, unparseable messages."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from netguard.alerts.models import AlertGroup, ParseOutcome, SnsMessage, Unparseable
from netguard.enrich.errors import EnrichError, MessageInFlight, PublishError
from netguard.enrich.models import EnrichmentResult
from netguard.enrich.process import IDEMPOTENCY_PK, MessageProcessor
from netguard.enriched.models import EnrichedAlert, EnrichedEvent, EventType
from netguard.state.errors import PayloadMismatch, StateUnavailable
from netguard.state.models import Item
from netguard.state.store import MemoryStore
from tests.support.alertbuild import alert, group


@dataclass
class FakePublisher:
    fail_on: set[int] = field(default_factory=set)
    """1-based publish attempts that raise."""
    attempts: int = 0
    published: list[EnrichedEvent] = field(default_factory=list)

    def publish(self, event: EnrichedEvent) -> str:
        self.attempts += 1
        if self.attempts in self.fail_on:
            raise PublishError("SNS throttled")
        self.published.append(event)
        return f"sns-{self.attempts}"


class FakePipeline:
    def __init__(self) -> None:
        self.groups = 0

    def enrich(self, g: AlertGroup) -> EnrichmentResult:
        self.groups += 1
        return EnrichmentResult(alerts=tuple(EnrichedAlert(alert=a, cluster="prod") for a in g.alerts))


class FakeArchive:
    def __init__(self, fail: bool = False) -> None:
        self.kept: list[SnsMessage] = []
        self.fail = fail

    def keep(self, message: SnsMessage) -> str:
        if self.fail:
            raise EnrichError("s3", "AccessDenied")
        self.kept.append(message)
        return f"s3://raw/{message.message_id}.json"


class BrokenStore(MemoryStore):
    def get(self, *, pk: str, sk: str) -> Item | None:
        raise StateUnavailable("throttled")

    def create(self, *, pk: str, sk: str, data: Any, ttl_seconds: int, version: int = 1) -> Item:
        raise StateUnavailable("throttled")

    def put(self, *, pk: str, sk: str, data: Any, ttl_seconds: int) -> Item:
        raise StateUnavailable("throttled")


def big_group(n: int) -> AlertGroup:
    return group(
        *(
            alert({"instance": f"10.0.{i // 250}.{i % 250}:9100"}, annotations={"description": "x" * 2000})
            for i in range(n)
        )
    )


def processor(
    parse_result: ParseOutcome,
    publisher: FakePublisher,
    store: MemoryStore | None,
    archive: FakeArchive | None = None,
    pipeline: FakePipeline | None = None,
) -> MessageProcessor:
    return MessageProcessor(
        parse=lambda m: parse_result,
        pipeline=pipeline or FakePipeline(),  # type: ignore[arg-type]
        publisher=publisher,
        store=store,
        archive=archive,  # type: ignore[arg-type]
        default_cluster="prod",
    )


MESSAGE = SnsMessage(message="{}", message_id="msg-1", topic_arn="arn:aws:sns:us-east-1:1:alerts")


class TestIdempotency:
    def test_duplicate_delivery_publishes_once(self) -> None:
        store, publisher, pipeline = MemoryStore(), FakePublisher(), FakePipeline()
        proc = processor([group(alert({"instance": "10.0.0.1:1"}))], publisher, store, pipeline=pipeline)
        first = proc.process(MESSAGE)
        second = proc.process(MESSAGE)
        assert (first.published, first.duplicate) == (1, False)
        assert (second.published, second.duplicate) == (0, True)
        assert len(publisher.published) == 1
        assert pipeline.groups == 1, "a duplicate is not even enriched again"
        (record,) = store.query(pk=IDEMPOTENCY_PK)
        assert record.data["status"] == "COMPLETED"

    def test_partial_failure_then_retry_publishes_only_the_rest(self) -> None:
        """Part 2 of 3 fails; the retry publishes parts 2 and 3 only; a third delivery nothing."""
        store, publisher = MemoryStore(), FakePublisher(fail_on={2})
        proc = processor([big_group(300)], publisher, store)
        with pytest.raises(PublishError):
            proc.process(MESSAGE)
        assert [e.part_index for e in publisher.published] == [1]
        retry = proc.process(MESSAGE)
        assert retry.already_published == 1
        parts = [e.part_index for e in publisher.published]
        assert parts == [1, *range(2, publisher.published[-1].part_count + 1)]
        assert len(parts) == publisher.published[0].part_count >= 3
        assert proc.process(MESSAGE).duplicate

    def test_store_outage_publishes_anyway(self) -> None:
        publisher = FakePublisher()
        report = processor([group(alert({"instance": "10.0.0.1:1"}))], publisher, BrokenStore()).process(
            MESSAGE
        )
        assert report.published == 1

    def test_concurrent_deliveries_publish_once(self) -> None:
        """Two deliveries at the same instant: one publishes, the other is told to retry later,
        and that retry finds the message done."""
        store = MemoryStore()
        entered, release = threading.Event(), threading.Event()

        class SlowPublisher(FakePublisher):
            def publish(self, event: EnrichedEvent) -> str:
                entered.set()
                release.wait(5)
                return super().publish(event)

        publisher = SlowPublisher()
        proc = processor([group(alert({"instance": "10.0.0.1:1"}))], publisher, store)
        first = threading.Thread(target=proc.process, args=(MESSAGE,))
        first.start()
        assert entered.wait(5)
        with pytest.raises(MessageInFlight):
            proc.process(MESSAGE)
        release.set()
        first.join(5)
        assert len(publisher.published) == 1
        assert proc.process(MESSAGE).duplicate

    def test_failed_attempt_releases_its_lease(self) -> None:
        """After a failure, Lambda's retry is not mistaken for a concurrent delivery."""
        store, publisher = MemoryStore(), FakePublisher(fail_on={1})
        proc = processor([group(alert({"instance": "10.0.0.1:1"}))], publisher, store)
        with pytest.raises(PublishError):
            proc.process(MESSAGE)
        assert proc.process(MESSAGE).published == 1

    def test_failure_with_an_undeletable_claim_is_retried_not_repeated(self) -> None:
        """Publishing failed and the table refused to release the claim: raised (Lambda retries once
        the in-progress window passes), not published again in the same invocation."""

        class NoDelete(MemoryStore):
            def delete(self, *, pk: str, sk: str, expected_version: int | None = None) -> None:
                raise StateUnavailable("throttled")

        publisher = FakePublisher(fail_on={1})
        proc = processor([group(alert({"instance": "10.0.0.1:1"}))], publisher, NoDelete())
        with pytest.raises(StateUnavailable):
            proc.process(MESSAGE)
        assert publisher.attempts == 1

    def test_same_message_id_with_another_body_is_rejected(self) -> None:
        """Powertools payload validation: a reused message id with a different body is not a duplicate."""
        store, publisher = MemoryStore(), FakePublisher()
        proc = processor([group(alert({"instance": "10.0.0.1:1"}))], publisher, store)
        proc.process(MESSAGE)
        with pytest.raises(PayloadMismatch):
            proc.process(SnsMessage(message='{"other": 1}', message_id="msg-1"))
        assert len(publisher.published) == 1

    def test_no_message_id_no_idempotency(self) -> None:
        store, publisher = MemoryStore(), FakePublisher()
        proc = processor([group(alert({}))], publisher, store)
        proc.process(SnsMessage(message="{}"))
        proc.process(SnsMessage(message="{}"))
        assert len(publisher.published) == 2
        assert store.query(pk=IDEMPOTENCY_PK) == []

    def test_several_groups_in_one_message(self) -> None:
        publisher = FakePublisher()
        report = processor(
            [group(alert({"a": "1"})), group(alert({"a": "2"}))], publisher, MemoryStore()
        ).process(MESSAGE)
        assert report.groups == 2
        assert [e.event_id for e in publisher.published] == ["msg-1#1.1", "msg-1#2.1"]


class TestUnparseable:
    def test_published_and_kept(self) -> None:
        publisher, archive = FakePublisher(), FakeArchive()
        report = processor(
            Unparseable("no format matched", MESSAGE), publisher, MemoryStore(), archive
        ).process(MESSAGE)
        assert report.unparseable
        (event,) = publisher.published
        assert event.event_type is EventType.UNPARSEABLE
        assert event.unparseable is not None
        assert event.unparseable.raw_location == "s3://raw/msg-1.json"
        assert event.cluster == "prod"
        assert archive.kept == [MESSAGE]

    @pytest.mark.parametrize("archive", [None, FakeArchive(fail=True)])
    def test_published_even_when_not_kept(self, archive: FakeArchive | None) -> None:
        publisher = FakePublisher()
        report = processor(Unparseable("x", MESSAGE), publisher, MemoryStore(), archive).process(MESSAGE)
        (event,) = publisher.published
        assert event.unparseable is not None
        assert event.unparseable.raw_location == ""
        assert [e.source for e in event.enrichment_errors] == ["s3"]
        assert report.enrichment_errors == 1

    def test_alert_too_large_is_kept_raw(self) -> None:
        publisher, archive = FakePublisher(), FakeArchive()
        oversized = group(alert({"big": "z" * 300_000}))
        processor([oversized], publisher, MemoryStore(), archive).process(MESSAGE)
        (event,) = publisher.published
        assert event.event_type is EventType.UNPARSEABLE
        assert event.unparseable is not None
        assert "even with shortened annotations" in event.unparseable.reason


def test_in_progress_window_follows_the_invocation() -> None:
    """While publishing, the message's record is in progress for the invocation's remaining time
    + 30 s (from the Lambda context), so a crashed invocation's retry is not locked out longer."""
    store = MemoryStore()
    seen: list[float] = []

    class Peeking(FakePublisher):
        def publish(self, event: EnrichedEvent) -> str:
            (record,) = store.query(pk=IDEMPOTENCY_PK)
            seen.append(record.data["in_progress_expiry_ms"] / 1000 - time.time())
            return super().publish(event)

    proc = processor([group(alert({"instance": "10.0.0.1:1"}))], Peeking(), store)
    proc.process(MESSAGE, remaining_seconds=12.0)
    assert len(seen) == 1
    assert 40.0 < seen[0] <= 42.0
