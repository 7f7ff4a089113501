"""notify_pagerduty invoked as Lambda would, against moto and a strict local Events API v2."""

from __future__ import annotations

import pytest

from netguard.errors import RetryableError
from netguard_cli.commands.invoke import invoke
from tests.support import builders
from tests.support.receivers import NotifyEnv, Reply

pytestmark = pytest.mark.integration


def test_trigger_then_resolve_across_cold_starts(notify_env: NotifyEnv) -> None:
    """One trigger and one resolve with the same dedup key, whatever SNS repeats."""
    firing = builders.sns_event(builders.alert_group())
    resolved = builders.sns_event(builders.alert_group(status="resolved", event_id="r#1"))
    for event in (firing, firing, resolved, resolved):
        invoke("notify_pagerduty", event)
    actions = [(e["event_action"], e["dedup_key"]) for e in notify_env.pagerduty.events()]
    key = builders.alert_group().group_id
    assert actions == [("trigger", key), ("resolve", key)]
    assert notify_env.pagerduty.incidents == {key: "resolved"}


def test_slack_thread_link_from_notify_slack(notify_env: NotifyEnv) -> None:
    """When notify_slack ran first, the incident links to its Slack message."""
    event = builders.sns_event(builders.alert_group())
    invoke("notify_slack", event)
    invoke("notify_pagerduty", event)
    [trigger] = notify_env.pagerduty.events("trigger")
    assert any(link["text"] == "Slack thread" for link in trigger["links"])


def test_per_alert_dedup(notify_env: NotifyEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """PAGERDUTY_DEDUP=alert opens one incident per alert fingerprint."""
    monkeypatch.setenv("PAGERDUTY_DEDUP", "alert")
    alerts = [builders.enriched_alert(node=f"n{i}") for i in range(4)]
    invoke("notify_pagerduty", builders.sns_event(builders.alert_group(alerts=alerts)))
    keys = {e["dedup_key"] for e in notify_env.pagerduty.events("trigger")}
    assert len(keys) == 4
    assert all(len(k) <= 255 for k in keys)


def test_change_event_for_remediation(notify_env: NotifyEnv) -> None:
    """A remediation report becomes a change event."""
    invoke("notify_pagerduty", builders.sns_event(builders.remediation()))
    assert len(notify_env.pagerduty.to("change")) == 1


def test_outage_then_retry(notify_env: NotifyEnv) -> None:
    """5xx past the attempts raises for Lambda's retry; the retry triggers exactly once."""
    notify_env.pagerduty.script("enqueue", *[Reply.server_error(502)] * 3)
    event = builders.sns_event(builders.alert_group())
    with pytest.raises(RetryableError):
        invoke("notify_pagerduty", event)
    invoke("notify_pagerduty", event)
    invoke("notify_pagerduty", event)
    assert len(notify_env.pagerduty.events("trigger")) == 4  # three failed attempts, one success
    assert len(notify_env.pagerduty.incidents) == 1


def test_invalid_routing_key_is_permanent(notify_env: NotifyEnv) -> None:
    """A 400 is logged, counted and recorded once; nothing is raised for Lambda to retry."""
    notify_env.pagerduty.routing_key = "another-key-entirely-000000000000"
    result = invoke("notify_pagerduty", builders.sns_event(builders.alert_group()))
    assert result["results"][0]["status"] == "failed"
    assert notify_env.failures("notify_pagerduty")[0]["code"] == "invalid_event"
