"""notify_slack invoked as Lambda would (cold start per invoke) against moto and a strict local Slack."""

from __future__ import annotations

import pytest

from netguard.errors import RetryableError
from netguard_cli.commands.invoke import invoke
from tests.support import builders
from tests.support.receivers import CHANNEL, NotifyEnv, Reply

pytestmark = pytest.mark.integration


def _ref(env: NotifyEnv, group_id: str) -> dict[str, object]:
    [item] = [i for i in env.items(f"slack#ref#{group_id}") if i["sk"] == "slack"]
    return dict(item["data"])


class TestBotMode:
    def test_firing_then_resolved_across_cold_starts(self, notify_env: NotifyEnv) -> None:
        """Each invoke is a cold start; the resolve still edits the original and replies in its thread."""
        firing = builders.alert_group()
        result = invoke("notify_slack", builders.sns_event(firing))
        assert result["results"][0]["status"] == "delivered"
        ref = _ref(notify_env, firing.group_id)
        assert ref["channel"] == CHANNEL
        assert str(ref["permalink"]).startswith("https://example.slack.com/archives/")
        invoke("notify_slack", builders.sns_event(builders.alert_group(status="resolved", event_id="r#1")))
        [update] = notify_env.slack.to("chat.update")
        assert update.body["ts"] == ref["ts"]
        assert [r.body["thread_ts"] for r in notify_env.slack.thread_replies()] == [ref["ts"]]
        assert len(notify_env.slack.posts()) == 1
        [item] = [i for i in notify_env.items(f"slack#ref#{firing.group_id}") if i["sk"] == "slack"]
        assert item["expires_at"] > 0

    def test_sns_redelivery_is_a_duplicate(self, notify_env: NotifyEnv) -> None:
        """The same SNS message delivered three times posts once and says so."""
        event = builders.sns_event(builders.alert_group())
        statuses = [invoke("notify_slack", event)["results"][0]["status"] for _ in range(3)]
        assert statuses == ["delivered", "duplicate", "duplicate"]
        assert len(notify_env.slack.posts()) == 1

    def test_multi_part_group_is_one_message(self, notify_env: NotifyEnv) -> None:
        """Parts delivered out of order end as one message showing every alert."""
        parts = builders.split(builders.storm(60, nodes=12), 3)
        for part in (parts[1], parts[0], parts[2]):
            invoke("notify_slack", builders.sns_event(part))
        assert len(notify_env.slack.posts()) == 1
        [(_, message)] = list(notify_env.slack.messages.items())
        assert "(60) on prod-eks" in message["text"]

    def test_storm_of_1000_alerts_stays_within_limits(self, notify_env: NotifyEnv) -> None:
        """1000 alerts in one group: one message, accepted by the strict receiver."""
        invoke("notify_slack", builders.sns_event(builders.storm(1000)))
        [post] = notify_env.slack.posts()
        blocks = post.body["attachments"][0]["blocks"]
        assert len(blocks) <= 50
        assert "and 990 more alert(s)" in str(blocks)

    def test_rate_limited_then_delivered(self, notify_env: NotifyEnv) -> None:
        """429 with Retry-After is honoured within the invocation."""
        notify_env.slack.script("chat.postMessage", Reply.rate_limited(1))
        result = invoke("notify_slack", builders.sns_event(builders.alert_group()))
        assert result["results"][0]["status"] == "delivered"
        assert len(notify_env.slack.to("chat.postMessage")) == 2

    def test_outage_raises_for_lambda_retry_and_the_retry_posts_once(self, notify_env: NotifyEnv) -> None:
        """5xx and timeouts beyond the attempts raise (Lambda retries); the retry then posts exactly once."""
        notify_env.slack.script(
            "chat.postMessage", Reply.server_error(503), Reply.slow(2.0), Reply.server_error(500)
        )
        event = builders.sns_event(builders.alert_group())
        with pytest.raises(RetryableError):
            invoke("notify_slack", event)
        assert invoke("notify_slack", event)["results"][0]["status"] == "delivered"
        assert len(notify_env.slack.messages) == 1

    @pytest.mark.parametrize("code", ["invalid_auth", "channel_not_found"])
    def test_permanent_error_is_recorded_not_retried(self, notify_env: NotifyEnv, code: str) -> None:
        """One attempt, no exception for Lambda to retry, a failure record, and redelivery does nothing."""
        notify_env.slack.script("chat.postMessage", Reply.slack_error(code))
        event = builders.sns_event(builders.alert_group())
        assert invoke("notify_slack", event)["results"][0]["status"] == "failed"
        assert invoke("notify_slack", event)["results"][0]["status"] == "duplicate"
        assert len(notify_env.slack.to("chat.postMessage")) == 1
        [failure] = notify_env.failures("notify_slack")
        assert failure["code"] == code

    def test_unreadable_message_is_recorded(self, notify_env: NotifyEnv) -> None:
        """A record that is not an enriched event fails permanently with a record, not a retry loop."""
        event = {"Records": [{"Sns": {"MessageId": "m-1", "Message": "not json"}}]}
        assert invoke("notify_slack", event)["results"][0]["status"] == "failed"
        assert notify_env.failures("notify_slack")[0]["event_id"] == "sns#m-1"


class TestWebhookMode:
    def test_firing_then_resolved(self, notify_env: NotifyEnv, monkeypatch: pytest.MonkeyPatch) -> None:
        """Webhook mode posts the firing and the resolved message once each."""
        monkeypatch.setenv("SLACK_MODE", "webhook")
        monkeypatch.setenv("SLACK_SECRET_ARN", notify_env.secret_arns["webhook"])
        monkeypatch.delenv("SLACK_CHANNEL")
        for event in (
            builders.alert_group(),
            builders.alert_group(event_id="x#1"),
            builders.alert_group(status="resolved", event_id="r#1"),
        ):
            invoke("notify_slack", builders.sns_event(event))
        hooks = notify_env.slack.to("webhook")
        assert len(hooks) == 2
        assert "RESOLVED" in hooks[1].body["text"]
        assert notify_env.slack.to("chat.postMessage") == []

    def test_remediation_and_unparseable(
        self, notify_env: NotifyEnv, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Remediation reports and unparseable notices are plain posts in webhook mode."""
        monkeypatch.setenv("SLACK_MODE", "webhook")
        monkeypatch.setenv("SLACK_SECRET_ARN", notify_env.secret_arns["webhook"])
        invoke("notify_slack", builders.sns_event(builders.remediation(), builders.unparseable()))
        assert len(notify_env.slack.to("webhook")) == 2
