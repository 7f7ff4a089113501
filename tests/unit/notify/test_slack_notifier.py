"""The Slack notifier against a strict local Slack: one message per group and status, edited in place."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from netguard.alerts.models import frozen_map
from netguard.notify import DeliveryPermanent, Outcome, SlackNotifier
from netguard.notify.slack.notifier import ref_pk
from netguard.state import MemoryStore
from tests.support import builders
from tests.support.receivers import CHANNEL, Reply, SlackReceiver

Build = Callable[..., SlackNotifier]


def _ref(store: MemoryStore, group_id: str) -> dict[str, object]:
    item = store.get(pk=ref_pk(group_id), sk="slack")
    assert item is not None
    return dict(item.data)


class TestBotMode:
    def test_firing_posts_one_message_with_the_facts(
        self, slack_bot: Build, slack_receiver: SlackReceiver
    ) -> None:
        """A firing group becomes one Block Kit message naming cluster, node, instance, AZ and diagnosis."""
        [delivery] = slack_bot().notify(builders.alert_group())
        assert delivery.outcome is Outcome.SENT
        [post] = slack_receiver.posts()
        text = str(post.body)
        for fact in (
            "prod-eks",
            "ip-10-0-1-23.ec2.internal",
            "i-0abc1234def567890",
            "m5.large",
            "us-east-1a",
            "VPC resolver",
            "CoreDNS: 2 replica(s)",
            "NodeLocal DNSCache: not enabled",
            "1,234.5 pkt/s",
            "runbooks.example.com",
            "grafana.example.com",
        ):
            assert fact in text, fact
        assert post.body["attachments"][0]["color"] == "#E01E5A"

    def test_a_link_slack_would_refuse_is_left_out_with_a_warning(
        self, slack_bot: Build, slack_receiver: SlackReceiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A runbook that is no http(s) URL: the message is posted without that button, and the
        log says which link was left out and why (not the URL itself)."""
        event = builders.alert_group()
        group = replace(event.group, common_annotations=frozen_map({"runbook_url": "javascript:alert(1)"}))
        with caplog.at_level("WARNING"):
            [delivery] = slack_bot(alertmanager_url="http://am:9093").notify(replace(event, group=group))
        assert delivery.outcome is Outcome.SENT
        [post] = slack_receiver.posts()
        assert "javascript" not in str(post.body)
        assert "silences/new" in str(post.body)
        assert any("Runbook link" in r.getMessage() and "http(s)" in r.getMessage() for r in caplog.records)
        assert not any("javascript" in r.getMessage() for r in caplog.records)

    def test_resolve_edits_the_original_and_replies_in_its_thread(
        self, slack_bot: Build, slack_receiver: SlackReceiver, store: MemoryStore
    ) -> None:
        """Resolving edits the firing message (green) and posts one reply under it."""
        notifier = slack_bot()
        firing = builders.alert_group()
        notifier.notify(firing)
        ts = _ref(store, firing.group_id)["ts"]
        [delivery] = notifier.notify(builders.alert_group(status="resolved", event_id="resolved-1#1"))
        assert delivery.action == "resolve"
        [update] = slack_receiver.to("chat.update")
        assert update.body["ts"] == ts
        assert update.body["attachments"][0]["color"] == "#2EB67D"
        assert "RESOLVED" in update.body["text"]
        [reply] = slack_receiver.thread_replies()
        assert reply.body["thread_ts"] == ts
        assert len(slack_receiver.posts()) == 1

    def test_repeated_deliveries_post_once(self, slack_bot: Build, slack_receiver: SlackReceiver) -> None:
        """The same group and status delivered again (other SNS message ids) posts nothing new."""
        notifier = slack_bot()
        outcomes = [notifier.notify(builders.alert_group(event_id=f"m{i}#1"))[0].outcome for i in range(3)]
        assert outcomes == [Outcome.SENT, Outcome.DUPLICATE, Outcome.DUPLICATE]
        assert len(slack_receiver.posts()) == 1
        assert slack_receiver.to("chat.update") == []

    def test_concurrent_duplicates_post_once(self, slack_bot: Build, slack_receiver: SlackReceiver) -> None:
        """Eight simultaneous deliveries of one firing group produce exactly one post."""
        notifier = slack_bot()
        errors: list[BaseException] = []

        def deliver(i: int) -> None:
            try:
                notifier.notify(builders.alert_group(event_id=f"c{i}#1"))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=deliver, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(slack_receiver.posts()) == 1

    def test_parts_end_in_one_message(
        self, slack_bot: Build, slack_receiver: SlackReceiver, store: MemoryStore
    ) -> None:
        """A group split into three parts is posted once and edited to show all of its alerts."""
        notifier = slack_bot()
        parts = builders.split(builders.storm(90, nodes=30), 3)
        results = [notifier.notify(p)[0] for p in parts]
        assert [r.action for r in results] == ["post", "update", "update"]
        assert len(slack_receiver.posts()) == 1
        final = slack_receiver.messages[(CHANNEL, str(_ref(store, parts[0].group_id)["ts"]))]
        assert "(90) on prod-eks" in final["text"]
        assert "showing" not in str(final)

    def test_message_not_found_posts_a_fresh_message(
        self, slack_bot: Build, slack_receiver: SlackReceiver, store: MemoryStore
    ) -> None:
        """When someone deleted the original, the resolve is posted as a new message and remembered."""
        notifier = slack_bot()
        firing = builders.alert_group()
        notifier.notify(firing)
        old_ts = str(_ref(store, firing.group_id)["ts"])
        slack_receiver.forget(CHANNEL, old_ts)
        [delivery] = notifier.notify(builders.alert_group(status="resolved", event_id="r#1"))
        assert delivery.outcome is Outcome.SENT
        assert "gone" in delivery.detail
        assert len(slack_receiver.posts()) == 2
        assert _ref(store, firing.group_id)["ts"] != old_ts

    def test_fires_again_after_resolve_with_a_new_message(
        self, slack_bot: Build, slack_receiver: SlackReceiver
    ) -> None:
        """firing, resolved, firing with a later start: the new firing is a new incident with its own
        message (the same start again is a late redelivery: see test_ordering)."""
        notifier = slack_bot()
        notifier.notify(builders.alert_group(event_id="a#1"))
        notifier.notify(builders.alert_group(status="resolved", event_id="b#1"))
        later = builders.enriched_alert(starts_at=builders.STARTS + timedelta(hours=1))
        notifier.notify(builders.alert_group(alerts=[later], event_id="c#1"))
        assert len(slack_receiver.posts()) == 2

    def test_remediation_is_a_thread_reply(
        self, slack_bot: Build, slack_receiver: SlackReceiver, store: MemoryStore
    ) -> None:
        """A remediation report goes into the incident's thread."""
        notifier = slack_bot()
        firing = builders.alert_group()
        notifier.notify(firing)
        [delivery] = notifier.notify(builders.remediation(group_id=firing.group_id))
        assert delivery.action == "reply"
        [reply] = slack_receiver.thread_replies()
        assert reply.body["thread_ts"] == _ref(store, firing.group_id)["ts"]
        assert "raise CoreDNS replicas applied" in reply.body["text"]

    def test_remediation_without_a_phase_change_is_not_replied(
        self, slack_bot: Build, slack_receiver: SlackReceiver
    ) -> None:
        """A report whose phase did not move (another check, a hold) stays out of the thread."""
        notifier = slack_bot()
        firing = builders.alert_group()
        notifier.notify(firing)
        [delivery] = notifier.notify(
            builders.remediation(group_id=firing.group_id, tell=False, changed=False)
        )
        assert delivery.outcome is Outcome.SKIPPED
        assert slack_receiver.thread_replies() == []

    def test_remediation_without_incident_is_posted_alone(
        self, slack_bot: Build, slack_receiver: SlackReceiver
    ) -> None:
        """With no message to reply under, the report is posted on its own."""
        [delivery] = slack_bot().notify(builders.remediation(group_id="netguard/other"))
        assert delivery.action == "post"
        assert len(slack_receiver.posts()) == 1

    def test_unparseable_is_a_plain_message_with_the_reason(
        self, slack_bot: Build, slack_receiver: SlackReceiver
    ) -> None:
        """An unparseable notification is reported with its reason, never dropped."""
        slack_bot().notify(builders.unparseable(reason="not JSON and no Alerts Firing block"))
        [post] = slack_receiver.posts()
        assert "not JSON and no Alerts Firing block" in str(post.body)

    @pytest.mark.parametrize("code", ["invalid_auth", "channel_not_found"])
    def test_permanent_errors_are_not_retried(
        self, slack_bot: Build, slack_receiver: SlackReceiver, store: MemoryStore, code: str
    ) -> None:
        """A bad token or channel fails at once, and the group remembers it failed."""
        notifier = slack_bot(token="xoxb-wrong") if code == "invalid_auth" else slack_bot(channel="CMISSING")
        event = builders.alert_group()
        with pytest.raises(DeliveryPermanent) as caught:
            notifier.notify(event)
        assert caught.value.code == code
        assert len(slack_receiver.to("chat.postMessage")) == 1
        assert _ref(store, event.group_id)["failed"] == code

    def test_a_later_notification_retries_after_a_permanent_failure(
        self, slack_bot: Build, slack_receiver: SlackReceiver
    ) -> None:
        """Once the token is fixed, the next notification of the group (a new event) posts."""
        with pytest.raises(DeliveryPermanent):
            slack_bot(token="xoxb-wrong").notify(builders.alert_group(event_id="a#1"))
        [delivery] = slack_bot().notify(builders.alert_group(event_id="b#1"))
        assert delivery.outcome is Outcome.SENT
        assert len(slack_receiver.messages) == 1

    def test_rate_limit_and_server_errors_are_retried(
        self, slack_bot: Build, slack_receiver: SlackReceiver
    ) -> None:
        """429 with Retry-After, then 503, then success: one message, three attempts."""
        slack_receiver.script("chat.postMessage", Reply.rate_limited(0), Reply.server_error(503))
        [delivery] = slack_bot().notify(builders.alert_group())
        assert delivery.outcome is Outcome.SENT
        assert len(slack_receiver.to("chat.postMessage")) == 3
        assert len(slack_receiver.messages) == 1


class TestWebhookMode:
    def test_firing_and_resolved_are_one_post_each(
        self, slack_hook: Build, slack_receiver: SlackReceiver
    ) -> None:
        """Webhooks cannot edit: firing posts once, resolved posts once, repeats post nothing."""
        notifier = slack_hook()
        notifier.notify(builders.alert_group(event_id="a#1"))
        notifier.notify(builders.alert_group(event_id="b#1"))
        notifier.notify(builders.alert_group(status="resolved", event_id="c#1"))
        notifier.notify(builders.alert_group(status="resolved", event_id="d#1"))
        posts = slack_receiver.to("webhook")
        assert len(posts) == 2
        assert [p.body["attachments"][0]["color"] for p in posts] == ["#E01E5A", "#2EB67D"]

    def test_later_parts_are_folded(self, slack_hook: Build, slack_receiver: SlackReceiver) -> None:
        """Parts after the first cannot edit a webhook message; they are folded, not posted."""
        notifier = slack_hook()
        results = [notifier.notify(p)[0] for p in builders.split(builders.storm(30), 3)]
        assert [r.action for r in results] == ["post", "fold", "fold"]
        assert len(slack_receiver.to("webhook")) == 1
