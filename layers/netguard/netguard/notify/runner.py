"""One SNS record through a notifier, with idempotency and the failure policy decided in one place.

The notify_* handlers call `process_record` and turn its `RecordResult` into log lines and metrics:
retryable failures release the event's claim and are re-raised by the handler (Lambda retries, then
the failure destination keeps the event); permanent ones are recorded and never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEventRecord, SNSMessage

from netguard.enriched import EnrichedEvent, event_from_json
from netguard.errors import NetguardError, PermanentError, RetryableError
from netguard.notify.http import Budget
from netguard.notify.models import Delivery, Outcome
from netguard.notify.notifier import EventLedger, Notifier
from netguard.state import OnceOutcome, OnceUnavailable

log = logging.getLogger(__name__)


class RecordStatus(StrEnum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    """Permanent: recorded, not retried."""
    RETRY = "retry"
    """Retryable: the handler re-raises `error`."""


@dataclass(frozen=True)
class RecordResult:
    status: RecordStatus
    event_id: str
    group_id: str = ""
    cluster: str = ""
    fingerprint: str = ""
    action: str = ""
    deliveries: tuple[Delivery, ...] = ()
    code: str = ""
    message: str = ""
    error: NetguardError | None = field(default=None, compare=False)

    @property
    def sent(self) -> int:
        return sum(1 for d in self.deliveries if d.outcome in (Outcome.SENT, Outcome.UPDATED))

    @property
    def duplicates(self) -> int:
        if self.status is RecordStatus.DUPLICATE:
            return 1
        return sum(1 for d in self.deliveries if d.outcome is Outcome.DUPLICATE)


def _action_of(event: EnrichedEvent) -> str:
    if event.remediation is not None:
        return f"remediation:{event.remediation.action.value}"
    return f"{event.event_type.value}:{event.status or 'unknown'}"


def _error_code(exc: NetguardError) -> str:
    return str(getattr(exc, "code", "") or type(exc).__name__)


def process_record(
    record: Mapping[str, Any], *, notifier: Callable[[], Notifier], ledger: EventLedger, budget: Budget
) -> RecordResult:
    """Decode, claim, deliver, and record one SNS record from the enriched topic."""
    # Powertools' data class; a record without `Sns` is read as empty so it fails below as a
    # permanent error and is kept in the failure record, never dropped.
    wrapped = record if isinstance(record, SNSEventRecord) else SNSEventRecord(dict(record))
    sns = wrapped.sns if isinstance(wrapped.get("Sns"), Mapping) else SNSMessage({})
    message_id = str(sns.get("MessageId") or "unknown")
    raw = str(sns.get("Message") or "")
    try:
        event = event_from_json(raw)
    except PermanentError as exc:
        ledger.failed(f"sns#{message_id}", code=_error_code(exc), message=str(exc), raw=raw)
        return RecordResult(RecordStatus.FAILED, f"sns#{message_id}", code=_error_code(exc), message=str(exc))
    base: dict[str, Any] = {
        "event_id": event.event_id,
        "group_id": event.group_id,
        "cluster": event.cluster,
        "fingerprint": event.alerts[0].alert.fingerprint if len(event.alerts) == 1 else "",
        "action": _action_of(event),
    }
    deliveries: list[Delivery] = []
    permanent: list[PermanentError] = []

    def deliver() -> None:
        try:
            deliveries.extend(notifier().notify(event))
        except PermanentError as exc:
            # Recorded and returned normally: the claim completes, so the event is not retried.
            ledger.failed(
                event.event_id, code=_error_code(exc), message=str(exc), group_id=event.group_id, raw=raw
            )
            permanent.append(exc)

    try:
        outcome = ledger.once(event.event_id, deliver, in_progress_seconds=budget.remaining() + 30)
    except OnceUnavailable as exc:
        if not exc.ran:
            code = _error_code(exc)
            return RecordResult(RecordStatus.RETRY, **base, code=code, message=str(exc), error=exc)
        log.warning("event %s handled, but its idempotency record was not written", event.event_id)
    except RetryableError as exc:  # the claim was released: Lambda's retry handles the event again
        return RecordResult(RecordStatus.RETRY, **base, code=_error_code(exc), message=str(exc), error=exc)
    else:
        if outcome is not OnceOutcome.RAN:
            return RecordResult(RecordStatus.DUPLICATE, **base)
    if permanent:
        error = permanent[0]
        return RecordResult(
            RecordStatus.FAILED, **base, code=_error_code(error), message=str(error), error=error
        )
    return RecordResult(RecordStatus.DELIVERED, **base, deliveries=tuple(deliveries))


def handle_event(
    event: Mapping[str, Any],
    *,
    notifier: Callable[[], Notifier],
    ledger: EventLedger,
    budget: Budget,
    log: Logger,
    emf: Metrics,
    receiver: str,
) -> dict[str, Any]:
    """Every SNS record of one invocation, with its log line and metrics; shared by the notify_* handlers.

    A retryable failure is re-raised (Lambda retries, then the failure destination keeps the event);
    a permanent one is reported and the next record goes on.
    """
    results = []
    for record in SNSEvent(dict(event)).records if event.get("Records") else ():
        result = process_record(record, notifier=notifier, ledger=ledger, budget=budget)
        _report(result, log, emf, receiver)
        if result.status is RecordStatus.RETRY and result.error is not None:
            raise result.error
        results.append({"event_id": result.event_id, "status": result.status.value, "sent": result.sent})
    return {"results": results}


def _report(result: RecordResult, log: Logger, emf: Metrics, receiver: str) -> None:
    log.append_keys(
        group_id=result.group_id, fingerprint=result.fingerprint, cluster=result.cluster, action=result.action
    )
    emf.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=result.sent)
    emf.add_metric(name="NotificationsDuplicate", unit=MetricUnit.Count, value=result.duplicates)
    failed = 1 if result.status in (RecordStatus.FAILED, RecordStatus.RETRY) else 0
    emf.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=failed)
    details = {"event_id": result.event_id, "status": result.status.value, "code": result.code}
    if result.status is RecordStatus.FAILED:
        log.error("%s delivery failed permanently: %s", receiver, result.message, extra=details)
    elif result.status is RecordStatus.RETRY:
        log.warning("%s delivery failed, will be retried: %s", receiver, result.message, extra=details)
    else:
        deliveries = [f"{d.action}:{d.outcome.value}" for d in result.deliveries]
        log.info("%s %s", receiver, result.status.value, extra={**details, "deliveries": deliveries})
