"""Lambda handler for remediation: enriched events from SNS and delayed follow-ups from SQS.

Wiring only: settings and the service are built once per container (`netguard.remediate.runtime`);
every decision is made, applied, audited and published by `RemediationService`. SNS: a
`RetryableError` is raised so Lambda retries. SQS: Powertools' `BatchProcessor` returns failed
records in `batchItemFailures` (the event source mapping needs `ReportBatchItemFailures`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEventRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from netguard.config.remediate import Settings
from netguard.enriched import ActionKind, Outcome, SchemaError, event_from_json
from netguard.errors import PermanentError, RetryableError
from netguard.remediate.runtime import build_service
from netguard.remediate.service import FollowUp, Handled, RemediationService

logger = Logger(service="netguard-remediate")
metrics = Metrics(namespace="Netguard", service="remediate")

_service: RemediationService | None = None


def service() -> RemediationService:
    """The service of this container, built from the environment on first use."""
    global _service  # noqa: PLW0603 - one per warm container, by design
    if _service is None:
        _service = build_service(Settings.from_env(), audit_logger=logger)
    return _service


def reset() -> None:
    """Forget the service (tests that change the environment)."""
    global _service  # noqa: PLW0603
    _service = None


_METRIC_BY_OUTCOME = {
    Outcome.APPLIED: "ActionsTaken",
    Outcome.DRY_RUN: "ActionsSkipped",
    Outcome.SKIPPED: "ActionsSkipped",
    Outcome.REFUSED: "ActionsRefused",
    Outcome.FAILED: "ActionsFailed",
}


def _record(handled: Handled | None) -> None:
    if handled is None:  # a duplicate, a superseded or re-queued follow-up, or not for remediation
        metrics.add_metric(name="EventsIgnored", unit=MetricUnit.Count, value=1)
        return
    report = handled.report
    name = _METRIC_BY_OUTCOME[report.outcome]
    if report.action is ActionKind.ESCALATE and report.outcome is Outcome.APPLIED:
        name = "Escalations"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    logger.info(
        "remediation decided",
        extra={
            "cluster": report.cluster,
            "action": report.action.value,
            "group_id": report.group_id,
            "outcome": report.outcome.value,
            "decision_id": report.decision_id,
            "follow_up": report.follow_up,
        },
    )


def _sns(record: SNSEventRecord) -> None:
    try:
        event = event_from_json(record.sns.message)
    except SchemaError as exc:
        # Raised, not swallowed: after Lambda's retries the failure destination keeps the message.
        logger.error("not an enriched event; rejected", extra={"error": str(exc)})
        metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=1)
        raise
    logger.append_keys(cluster=event.cluster, group_id=event.group_id, action="evaluate")
    _record(service().on_event(event))


def _sqs(record: SQSRecord) -> None:
    """One follow-up; any exception marks only this record failed (Powertools' BatchProcessor)."""
    try:
        message = FollowUp.from_json(record.body)
        logger.append_keys(cluster=message.cluster, group_id=message.group_id, action="follow_up")
        _record(service().on_follow_up(message))
    except PermanentError as exc:
        # Reported as failed so SQS redelivers it and, after maxReceiveCount, its DLQ keeps it.
        logger.error("follow-up rejected", extra={"error": str(exc), "message_id": record.message_id})
        metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=1)
        raise
    except Exception as exc:  # retryable or unexpected: SQS redelivers this record only
        level = logger.warning if isinstance(exc, RetryableError) else logger.exception
        level("follow-up will be retried", extra={"error": str(exc)})
        metrics.add_metric(name="FollowUpsRetried", unit=MetricUnit.Count, value=1)
        raise


# A batch whose every record failed is still answered with its batchItemFailures (not raised), so
# SQS redelivers each record on its own and a bad one reaches the DLQ after maxReceiveCount.
_followups = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _source(record: Any) -> str:
    if not isinstance(record, dict):
        return ""
    return str(record.get("EventSource") or record.get("eventSource") or "")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    sources = {_source(record) for record in records}
    if sources - {"aws:sns", "aws:sqs"} or len(sources) > 1:
        logger.error("record from an unexpected source; rejected", extra={"sources": sorted(sources)})
        metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=1)
        unexpected = sorted(sources - {"aws:sns", "aws:sqs"}) or sorted(sources)
        raise PermanentError(f"remediate cannot handle records from {', '.join(map(repr, unexpected))}")
    if sources == {"aws:sns"}:
        for record in SNSEvent(event).records:
            _sns(record)  # errors propagate: Lambda retries the whole (single-record) SNS event
        return {"batchItemFailures": []}
    if not records:
        return {"batchItemFailures": []}
    response = process_partial_response(
        event=event, record_handler=_sqs, processor=_followups, context=context
    )
    return {"batchItemFailures": list(response.get("batchItemFailures", []))}
