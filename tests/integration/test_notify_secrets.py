"""No token, webhook URL or routing key appears in logs, stdout, exceptions or stored records."""

from __future__ import annotations

import json
import logging

import pytest

from netguard.errors import NetguardError
from netguard_cli.commands.invoke import invoke
from tests.support import builders
from tests.support.receivers import ROUTING_KEY, SLACK_TOKEN, WEBHOOK_PATH, NotifyEnv, Reply

pytestmark = pytest.mark.integration

SECRETS = (SLACK_TOKEN, ROUTING_KEY, WEBHOOK_PATH, WEBHOOK_PATH.rsplit("/", 1)[-1])


def _run(function: str, event: dict[str, object], errors: list[str]) -> None:
    try:
        invoke(function, event)
    except NetguardError as exc:
        errors.append(f"{exc!s} {exc!r} {exc.__context__!r} {exc.__cause__!r}")


def test_secrets_never_leak(
    notify_env: NotifyEnv,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Success, retries, timeouts and permanent failures in both modes leave no secret anywhere."""
    caplog.set_level(logging.DEBUG, logger="netguard")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    errors: list[str] = []
    firing = builders.sns_event(builders.alert_group())
    resolved = builders.sns_event(builders.alert_group(status="resolved", event_id="r#1"))

    # bot mode: rate limit, success, resolve; then a bad token
    notify_env.slack.script("chat.postMessage", Reply.rate_limited(0))
    _run("notify_slack", firing, errors)
    _run("notify_slack", resolved, errors)
    notify_env.slack.token = "xoxb-rotated"
    _run("notify_slack", builders.sns_event(builders.alert_group(alertname="Other", event_id="o#1")), errors)

    # PagerDuty: 5xx until the attempts run out, then a rejected key
    notify_env.pagerduty.script("enqueue", *[Reply.server_error(503)] * 3)
    _run("notify_pagerduty", firing, errors)
    notify_env.pagerduty.routing_key = "changed"
    _run("notify_pagerduty", firing, errors)

    # webhook mode: timeouts until the attempts run out, then a 404 (webhook revoked)
    monkeypatch.setenv("SLACK_MODE", "webhook")
    monkeypatch.setenv("SLACK_SECRET_ARN", notify_env.secret_arns["webhook"])
    notify_env.slack.script("webhook", *[Reply.slow(1.5)] * 3)
    other = builders.sns_event(builders.alert_group(alertname="Third", event_id="t#1"))
    _run("notify_slack", other, errors)
    notify_env.slack.script("webhook", Reply(404, "no_service"))
    _run("notify_slack", other, errors)

    assert len(errors) == 2, errors  # the PagerDuty outage and the webhook timeouts were raised for retry
    captured = capfd.readouterr()
    stored = json.dumps([notify_env.failures(f) for f in ("notify_slack", "notify_pagerduty")], default=str)
    haystacks = {
        "stdout": captured.out,
        "stderr": captured.err,
        "logs": caplog.text,
        "log records": json.dumps([r.__dict__ for r in caplog.records], default=str),
        "errors": "\n".join(errors),
        "failure records": stored,
    }
    assert "failed permanently" in caplog.text  # the handlers did log
    assert '"NotificationsFailed":[1.0]' in captured.out  # and their metrics reached stdout
    assert len(notify_env.failures("notify_slack")) == 2
    for where, text in haystacks.items():
        for secret in SECRETS:
            assert secret not in text, f"a secret leaked into {where}"
