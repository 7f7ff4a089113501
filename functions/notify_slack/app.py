"""Lambda handler subscribed to the enriched topic: one Slack message per alert group and status.

Wiring only: settings, state store and secret cache are built once per container; the SNS records
go through `netguard.notify.handle_event`. Retryable failures are re-raised (Lambda retries,
then the failure destination keeps the event); permanent ones are one log line, a metric and a
failure record in the state table.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from netguard.clients import aws
from netguard.config.notify import SlackSettings
from netguard.notify import Budget, handle_event
from netguard.notify.runtime import Runtime, build_runtime, slack_notifier

FUNCTION = "notify_slack"
logger = Logger(service="netguard-notify-slack")
metrics = Metrics(namespace="Netguard", service=FUNCTION)

_container: tuple[SlackSettings, Runtime] | None = None


def container() -> tuple[SlackSettings, Runtime]:
    """Settings and adapters of this container, built from the environment on first use."""
    global _container  # noqa: PLW0603 - one per warm container, by design
    if _container is None:
        settings = SlackSettings.from_env()
        runtime = build_runtime(
            settings.delivery,
            FUNCTION,
            "slack",
            dynamodb=aws.client("dynamodb"),
            secretsmanager=aws.client("secretsmanager"),
        )
        _container = (settings, runtime)
    return _container


def reset() -> None:
    """Forget the container's settings and caches (tests that change the environment)."""
    global _container  # noqa: PLW0603
    _container = None


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, runtime = container()
    budget = Budget.from_context(context)
    return handle_event(
        event,
        notifier=lambda: slack_notifier(settings, runtime, budget),
        ledger=runtime.ledger,
        budget=budget,
        log=logger,
        emf=metrics,
        receiver="slack",
    )
