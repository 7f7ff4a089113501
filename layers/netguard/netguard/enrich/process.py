"""One SNS message in, enriched events out: parse, enrich, split, publish, exactly once per message.

Idempotency (state table, `pk="idem#enrich"`): a message whose id is recorded as done publishes
nothing. Each part is recorded after it is published (`sk="<message id>#<g>.<n>"`), and the message
itself once every part is out, so a retry after a partial failure publishes only the missing parts.
If the state table cannot be read, the message is published anyway: a duplicate alert beats a lost one.
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
from netguard.state.errors import StateConflict, StateUnavailable
from netguard.state.store import StateStore

log = logging.getLogger(__name__)

IDEMPOTENCY_PK = "idem#enrich"
INFLIGHT_PK = "inflight#enrich"
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
        self._ttl = idempotency_ttl
        self._budget = budget
        self._lease_seconds = lease_seconds

    def process(self, message: SnsMessage) -> MessageReport:
        report = MessageReport(message_id=message.message_id)
        if self._done(message.message_id):
            report.duplicate = True
            return report
        if not self._lease(message.message_id):
            raise MessageInFlight(
                f"SNS message {message.message_id} is being processed by another invocation"
            )
        try:
            return self._process(message, report)
        except BaseException:
            self._release(message.message_id)  # so Lambda's retry of this failure proceeds at once
            raise

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
        self._record(message.message_id, {"events": len(events), "at": now_rfc3339()})
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
        if event.source.message_id and self._done(event.event_id):
            report.already_published += 1
            return
        self._publisher.publish(event)  # PublishError propagates: Lambda retries, recorded parts are skipped
        report.published += 1
        if event.source.message_id:
            self._record(event.event_id, {"group_id": event.group_id, "part": event.part_index})

    def _lease(self, key: str) -> bool:
        """Claim a message for this invocation, so two concurrent deliveries cannot both publish."""
        if not key or self._store is None:
            return True
        try:
            self._store.create(
                pk=INFLIGHT_PK, sk=key, data={"at": now_rfc3339()}, ttl_seconds=self._lease_seconds
            )
        except StateConflict:
            return False
        except StateUnavailable as exc:
            log.warning("in-flight lease not taken; processing anyway", extra={"key": key, "error": str(exc)})
        return True

    def _release(self, key: str) -> None:
        if not key or self._store is None:
            return
        try:
            self._store.delete(pk=INFLIGHT_PK, sk=key)
        except StateUnavailable as exc:
            log.warning(
                "in-flight lease not released; it expires by itself", extra={"key": key, "error": str(exc)}
            )

    def _done(self, key: str) -> bool:
        if not key or self._store is None:
            return False
        try:
            return self._store.get(pk=IDEMPOTENCY_PK, sk=key) is not None
        except StateUnavailable as exc:
            log.warning(
                "idempotency record unreadable; publishing anyway", extra={"key": key, "error": str(exc)}
            )
            return False

    def _record(self, key: str, data: dict[str, object]) -> None:
        if not key or self._store is None:
            return
        try:
            self._store.put(pk=IDEMPOTENCY_PK, sk=key, data=data, ttl_seconds=self._ttl)
        except StateUnavailable as exc:
            log.warning("idempotency record not written", extra={"key": key, "error": str(exc)})
