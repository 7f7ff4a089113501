"""Lambda handler subscribed to the alerts topic: parse, enrich, publish enriched events.

Wiring only: settings and the processor are built once per container (`netguard.enrich.runtime`);
each SNS record is processed by `MessageProcessor`. A `PublishError` or `RetryableError` is raised
so Lambda retries (already-published parts are skipped); a `ConfigError` fails every invocation
with the variable's name.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from netguard.alerts import sns_messages_from_event
from netguard.config.enrich import Settings
from netguard.enrich.process import MessageProcessor, MessageReport
from netguard.enrich.runtime import build_processor

logger = Logger(service="netguard-enrich")
metrics = Metrics(namespace="Netguard", service="enrich")

_processor: MessageProcessor | None = None


def processor() -> MessageProcessor:
    """The processor of this container, built from the environment on first use."""
    global _processor  # noqa: PLW0603 - one per warm container, by design
    if _processor is None:
        _processor = build_processor(Settings.from_env())
    return _processor


def reset() -> None:
    """Forget the processor (tests that change the environment)."""
    global _processor  # noqa: PLW0603
    _processor = None


def _record(report: MessageReport) -> None:
    metrics.add_metric(name="AlertsParsed", unit=MetricUnit.Count, value=report.alerts)
    metrics.add_metric(
        name="AlertsEnriched",
        unit=MetricUnit.Count,
        value=report.alerts if report.published or report.already_published else 0,
    )
    metrics.add_metric(
        name="UnparseableMessages", unit=MetricUnit.Count, value=1 if report.unparseable else 0
    )
    metrics.add_metric(name="EnrichmentErrors", unit=MetricUnit.Count, value=report.enrichment_errors)
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=report.published)
    logger.append_keys(
        cluster=",".join(report.clusters),
        group_key=",".join(report.group_ids[:5]),
        fingerprint=",".join(report.fingerprints[:20]),
    )
    if report.unparseable:
        logger.warning(
            "message could not be parsed: %s",
            report.unparseable_reason,
            extra={"message_id": report.message_id, "raw_location": report.raw_location or "not kept"},
        )
    logger.info(
        "message processed",
        extra={
            "message_id": report.message_id,
            "duplicate": report.duplicate,
            "groups": report.groups,
            "alerts": report.alerts,
            "unparseable": report.unparseable,
            "published": report.published,
            "already_published": report.already_published,
            "enrichment_errors": report.enrichment_errors,
            "api_calls": report.calls,
        },
    )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(action="enrich")
    reports = []
    for message in sns_messages_from_event(event):
        logger.append_keys(message_id=message.message_id)
        remaining = context.get_remaining_time_in_millis() / 1000
        report = processor().process(message, remaining_seconds=remaining)
        _record(report)
        reports.append(report)
    return {
        "messages": len(reports),
        "published": sum(r.published for r in reports),
        "duplicates": sum(1 for r in reports if r.duplicate),
        "alerts": sum(r.alerts for r in reports),
        "enrichment_errors": sum(r.enrichment_errors for r in reports),
    }
