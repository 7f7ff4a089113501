"""notify_slack and notify_pagerduty under Slack 429/5xx, PagerDuty 5xx, DynamoDB throttling and
duplicate deliveries (conditional-write conflicts): every alert reaches each receiver exactly once."""

from __future__ import annotations

import pytest

from tests.resilience.deliveries import deliver
from tests.resilience.faults import aws_faults
from tests.resilience.ledger import LEDGER, Row
from tests.support import builders
from tests.support.receivers import NotifyEnv, Reply

pytestmark = pytest.mark.integration


def _row(fault: str, deliveries: int, *, slack: int | None = None, pd: int | None = None, kept: bool) -> Row:
    """Each notifier here handles one alert: exactly one post or trigger is right."""
    effects = [n for n in (slack, pd) if n is not None]
    return LEDGER.add(
        Row(
            fault,
            deliveries,
            published=None,
            slack_posts=slack,
            pd_triggers=pd,
            k8s_changes=None,
            kept_failures=int(kept),
            lost=sum(1 for n in effects if n == 0 and not kept),
            twice=sum(max(0, n - 1) for n in effects),
        )
    )


def test_slack_429_then_5xx(notify_env: NotifyEnv) -> None:
    """Rate limited, then two outages: the first invocation gives up and raises; Lambda's retry posts once."""
    notify_env.slack.script(
        "chat.postMessage", Reply.rate_limited(1), Reply.server_error(503), Reply.server_error(500)
    )
    outcome = deliver("notify_slack", builders.sns_event(builders.alert_group(event_id="slack-5xx#1")))
    row = _row(
        "Slack 429, then 503, 500",
        outcome.deliveries,
        slack=len(notify_env.slack.messages),
        kept=outcome.kept,
    )
    assert (outcome.deliveries, row.slack_posts, row.lost, row.twice) == (2, 1, 0, 0)


def test_pagerduty_5xx(notify_env: NotifyEnv) -> None:
    """Three 5xx in a row exhaust one invocation; the retry triggers once (same dedup key)."""
    notify_env.pagerduty.script(
        "enqueue", Reply.server_error(502), Reply.server_error(503), Reply.server_error(500)
    )
    outcome = deliver("notify_pagerduty", builders.sns_event(builders.alert_group(event_id="pd-5xx#1")))
    accepted = len(notify_env.pagerduty.events("trigger")) - 3
    row = _row("PagerDuty 502, 503, 500", outcome.deliveries, pd=accepted, kept=outcome.kept)
    assert len(notify_env.pagerduty.incidents) == 1
    assert (outcome.deliveries, row.pd_triggers, row.lost, row.twice) == (2, 1, 0, 0)


def test_dynamodb_throttling_on_the_notify_ledger(
    notify_env: NotifyEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state table throttles every write of the first invocation (botocore's retries included)."""
    event = builders.sns_event(builders.alert_group(event_id="ddb-throttle#1"))
    with aws_faults(monkeypatch) as faults:
        throttled = [
            faults.add("dynamodb", operation, "ThrottlingException", 400)
            for operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")
        ]
        outcome = deliver("notify_slack", event, between=lambda _: faults.clear())
    assert sum(f.injected for f in throttled) >= 3, "the fault never fired"
    row = _row(
        "DynamoDB throttling (Slack ledger)",
        outcome.deliveries,
        slack=len(notify_env.slack.messages),
        kept=outcome.kept,
    )
    assert (row.slack_posts, row.lost, row.twice) == (1, 0, 0)


def test_duplicate_deliveries_conflict(notify_env: NotifyEnv) -> None:
    """SNS delivers the same event three times to both notifiers: the conditional claim lets one through."""
    event = builders.sns_event(builders.alert_group(event_id="dup#1"))
    deliveries = 0
    for function in ("notify_slack", "notify_pagerduty"):
        for _ in range(3):
            deliveries += deliver(function, event).deliveries
    row = _row(
        "DynamoDB conditional conflict (3x same event)",
        deliveries,
        slack=len(notify_env.slack.messages),
        pd=len(notify_env.pagerduty.events("trigger")),
        kept=False,
    )
    assert (deliveries, row.lost, row.twice) == (6, 0, 0)
