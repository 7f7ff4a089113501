"""Lambda handler subscribed to the enriched topic: one Slack message per alert group and status.

Wiring only: settings, state store and secret cache are built once per container
(`NotifierFunction`); the SNS records go through `netguard.notify.handle_event`. Retryable failures
are re-raised (Lambda retries, then the failure destination keeps the event); permanent ones are one
log line, a metric and a failure record in the state table.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from netguard.config.notify import SlackSettings
from netguard.notify.runtime import NotifierFunction, Runtime, slack_notifier

FUNCTION = "notify_slack"
logger = Logger(service="netguard-notify-slack")
metrics = Metrics(namespace="Netguard", service=FUNCTION)
function = NotifierFunction(FUNCTION, "slack", SlackSettings.from_env, slack_notifier)


def container() -> tuple[SlackSettings, Runtime]:
    return function.container()


def reset() -> None:
    function.reset()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return function.handle(event, context, log=logger, emf=metrics)
