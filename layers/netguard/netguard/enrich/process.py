"""One SNS message in, enriched events out: parse, enrich, split, publish, exactly once per message.

Idempotency is Powertools' (`netguard.state.Once`, state table): the message id is claimed
(`pk="idem#enrich"`, in progress for the invocation's remaining time + 30 s, so a concurrent
delivery is told to retry and a crashed one's retry proceeds after it), and each published part
is recorded on its own (`pk="idem#enrich-part"`, key = event id), so a retry after a partial
failure publishes only the missing parts. The same message id with a different body is rejected
(payload validation). If the state table cannot be reached, the message is published anyway: a
duplicate alert beats a lost one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from netguard.alerts.models import AlertGroup, ParseOutcome, SnsMessage, Unparseable
from netguard.enrich.errors import EnrichError, EventTooLarge, MessageInFlight
from netguard.enrich.pipeline import Pipeline
from netguard.enrich.publish import (
    DEFAULT_BUDGET,
    RawArchive,
    build_events,
    now_rfc3339,
    source_ref,
    unparseable_event,
)
from netguard.enriched.models import EnrichedEvent, EnrichmentError
from netguard.state.errors import OnceUnavailable
from netguard.state.idempotency import Once, OnceOutcome
from netguard.state.store import StateStore

log = logging.getLogger(__name__)

IDEMPOTENCY_PK = "idem#enrich"
PARTS_PK = "idem#enrich-part"
DEFAULT_LEASE_SECONDS = 90
"""Longer than the function's 60 s timeout, shorter than Lambda's first retry of a crashed invocation."""
DEFAULT_IDEMPOTENCY_TTL = 7 * 24 * 3600


class Publisher(Protocol):
    def publish(self, event: EnrichedEvent) -> str: ...


@dataclass
class MessageReport:
    """What happened to one SNS message (the handler turns it into metrics and logs)."""

    message_id: str
    duplicate: bool = False
    groups: int = 0
    alerts: int = 0
    unparseable: bool = False
    unparseable_reason: str = ""
    raw_location: str = ""
    """Where the raw message of an unparseable one was kept (empty when it could not be)."""
    published: int = 0
    already_published: int = 0
    enrichment_errors: int = 0
    clusters: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)


class MessageProcessor:
    def __init__(
        self,
        *,
        parse: Callable[[SnsMessage], ParseOutcome],
        pipeline: Pipeline,
        publisher: Publisher,
        store: StateStore | None,
        archive: RawArchive | None = None,
        default_cluster: str = "",
        idempotency_ttl: int = DEFAULT_IDEMPOTENCY_TTL,
        budget: int = DEFAULT_BUDGET,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._parse = parse
        self._pipeline = pipeline
        self._publisher = publisher
        self._store = store
        self._archive = archive
        self._default_cluster = default_cluster
        self._budget = budget
        self._window = float(lease_seconds)
        self._messages: Once | None = None
        self._parts: Once | None = None
        if store is not None:
            window = self._in_progress_seconds
            self._messages = Once(
                store,
                IDEMPOTENCY_PK,
                ttl_seconds=idempotency_ttl,
                in_progress_seconds=window,
                validate="[body, subject]",
            )
            self._parts = Once(store, PARTS_PK, ttl_seconds=idempotency_ttl, in_progress_seconds=window)

    def _in_progress_seconds(self) -> float:
        return self._window

    def process(self, message: SnsMessage, *, remaining_seconds: float | None = None) -> MessageReport:
        """`remaining_seconds`: the invocation's remaining time (Lambda context); the message stays
        in progress that long plus 30 s, so a crashed invocation's retry is not locked out longer."""
        report = MessageReport(message_id=message.message_id)
        if remaining_seconds is not None:
            self._window = remaining_seconds + 30
        if not message.message_id or self._messages is None:
            return self._process(message, report)
        try:
            outcome = self._messages.run(
                message.message_id,
                lambda: self._process(message, report),
                payload={"body": message.message, "subject": message.subject},
            )
        except OnceUnavailable as exc:
            if exc.ran:  # published; only the record of it is missing (a redelivery may duplicate)
                log.warning("idempotency record not written", extra={"error": str(exc)})
                return report
            if exc.started:  # it failed and its record could not be deleted: Lambda retries later
                raise
            log.warning("idempotency not available; publishing anyway", extra={"error": str(exc)})
            return self._process(message, report)
        if outcome is OnceOutcome.IN_FLIGHT:
            raise MessageInFlight(
                f"SNS message {message.message_id} is being processed by another invocation"
            )
        report.duplicate = outcome is OnceOutcome.DUPLICATE
        return report

    def _process(self, message: SnsMessage, report: MessageReport) -> MessageReport:
        outcome = self._parse(message)
        if isinstance(outcome, Unparseable):
            events = [self._unparseable(outcome, report)]
        else:
            try:
                events = self._enrich(message, outcome, report)
            except EventTooLarge as exc:
                # Only an alert whose own labels exceed an SNS message gets here: keep it whole in S3.
                events = [self._unparseable(Unparseable(reason=str(exc), message=message), report)]
        for event in events:
            self._publish_once(event, report)
        return report

    def _enrich(
        self, message: SnsMessage, groups: Sequence[AlertGroup], report: MessageReport
    ) -> list[EnrichedEvent]:
        events: list[EnrichedEvent] = []
        created_at = now_rfc3339()
        for number, group in enumerate(groups, start=1):
            result = self._pipeline.enrich(group)
            for key, value in result.calls.items():
                report.calls[key] = report.calls.get(key, 0) + value
            report.groups += 1
            report.alerts += len(group.alerts)
            report.enrichment_errors += len(result.errors)
            events.extend(
                build_events(
                    group,
                    result,
                    source=source_ref(message),
                    event_id_prefix=f"{message.message_id or 'local'}#{number}",
                    created_at=created_at,
                    budget=self._budget,
                )
            )
        report.clusters = tuple(sorted({e.cluster for e in events}))
        report.group_ids = tuple(dict.fromkeys(e.group_id for e in events))
        report.fingerprints = tuple(a.alert.fingerprint for e in events for a in e.alerts)
        return events

    def _unparseable(self, outcome: Unparseable, report: MessageReport) -> EnrichedEvent:
        report.unparseable = True
        location = ""
        errors: list[EnrichmentError] = []
        if self._archive is not None:
            try:
                location = self._archive.keep(outcome.message)
            except EnrichError as exc:
                errors.append(EnrichmentError(source=exc.source, message=exc.detail[:500]))
        else:
            errors.append(
                EnrichmentError(source="s3", message="RAW_BUCKET is not set; the raw message was not kept")
            )
        report.enrichment_errors += len(errors)
        report.unparseable_reason = outcome.reason
        report.raw_location = location
        return unparseable_event(
            outcome,
            source=source_ref(outcome.message),
            event_id=f"{outcome.message.message_id or 'local'}#1.1",
            cluster=self._default_cluster,
            raw_location=location,
            errors=errors,
        )

    # --- idempotency ---------------------------------------------------------------------------

    def _publish_once(self, event: EnrichedEvent, report: MessageReport) -> None:
        def publish() -> None:
            # PublishError propagates: Lambda retries, and the parts already out are skipped.
            self._publisher.publish(event)
            report.published += 1

        if not event.source.message_id or self._parts is None:
            publish()
            return
        try:
            outcome = self._parts.run(event.event_id, publish)
        except OnceUnavailable as exc:
            log.warning("part idempotency not available", extra={"key": event.event_id, "error": str(exc)})
            if exc.started and not exc.ran:
                raise
            if not exc.ran:
                publish()
            return
        if outcome is OnceOutcome.IN_FLIGHT:  # only after a crash, until its in-progress window passes
            raise MessageInFlight(f"part {event.event_id} is being published by another invocation")
        if outcome is OnceOutcome.DUPLICATE:
            report.already_published += 1
