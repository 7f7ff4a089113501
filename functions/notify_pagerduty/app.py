"""Lambda handler subscribed to the enriched topic: PagerDuty Events API v2 trigger, resolve, change.

Wiring only, like notify_slack: settings, state store and secret cache once per container; each SNS
record through `netguard.notify.process_record`; retryable failures re-raised, permanent ones
logged once, counted and recorded in the state table.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from netguard.clients import aws
from netguard.config.notify import PagerDutySettings
from netguard.notify import Budget, RecordResult, RecordStatus, process_record
from netguard.notify.runtime import Runtime, build_runtime, pagerduty_notifier

FUNCTION = "notify_pagerduty"
logger = Logger(service="netguard-notify-pagerduty")
metrics = Metrics(namespace="Netguard", service=FUNCTION)

_container: tuple[PagerDutySettings, Runtime] | None = None


def container() -> tuple[PagerDutySettings, Runtime]:
    """Settings and adapters of this container, built from the environment on first use."""
    global _container  # noqa: PLW0603 - one per warm container, by design
    if _container is None:
        settings = PagerDutySettings.from_env()
        runtime = build_runtime(
            settings.delivery,
            FUNCTION,
            "pagerduty",
            dynamodb=aws.client("dynamodb"),
            secretsmanager=aws.client("secretsmanager"),
        )
        _container = (settings, runtime)
    return _container


def reset() -> None:
    """Forget the container's settings and caches (tests that change the environment)."""
    global _container  # noqa: PLW0603
    _container = None


def record_outcome(result: RecordResult) -> None:
    logger.append_keys(
        group_id=result.group_id, fingerprint=result.fingerprint, cluster=result.cluster, action=result.action
    )
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=result.sent)
    metrics.add_metric(name="NotificationsDuplicate", unit=MetricUnit.Count, value=result.duplicates)
    failed = 1 if result.status in (RecordStatus.FAILED, RecordStatus.RETRY) else 0
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=failed)
    details = {"event_id": result.event_id, "status": result.status.value, "code": result.code}
    if result.status is RecordStatus.FAILED:
        logger.error("pagerduty delivery failed permanently: %s", result.message, extra=details)
    elif result.status is RecordStatus.RETRY:
        logger.warning("pagerduty delivery failed, will be retried: %s", result.message, extra=details)
    else:
        deliveries = [f"{d.action}:{d.outcome.value}" for d in result.deliveries]
        logger.info("pagerduty %s", result.status.value, extra={**details, "deliveries": deliveries})


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, runtime = container()
    budget = Budget.from_context(context)
    results = []
    for record in event.get("Records") or []:
        result = process_record(
            record,
            notifier=lambda: pagerduty_notifier(settings, runtime, budget),
            ledger=runtime.ledger,
            budget=budget,
        )
        record_outcome(result)
        if result.status is RecordStatus.RETRY and result.error is not None:
            raise result.error
        results.append({"event_id": result.event_id, "status": result.status.value, "sent": result.sent})
    return {"results": results}
