"""Upgrading to owner-prefixed partitions: Slack threads and PagerDuty incidents opened before carry on.

The previous release's items are made by today's notifiers over `at_old_keys` (the data did not
change, only where it lives); the upgraded notifiers run over `OwnedStore`, as the handlers build it.
"""

from __future__ import annotations

from netguard.notify import (
    Budget,
    PagerDutyClient,
    PagerDutyNotifier,
    PagerDutyOptions,
    Secret,
    SlackApi,
    SlackNotifier,
    UrllibTransport,
)
from netguard.notify.models import Outcome
from netguard.state import MemoryStore, OwnedStore, Owner, StateStore
from netguard.state.owned import same_key, slack_legacy_key
from tests.support import builders
from tests.support.oldkeys import at_old_keys
from tests.support.receivers import CHANNEL, ROUTING_KEY, SLACK_TOKEN, PagerDutyReceiver, SlackReceiver
from tests.unit.notify.conftest import FAST


def _slack(store: StateStore, receiver: SlackReceiver, budget: Budget) -> SlackNotifier:
    api = SlackApi(receiver.api_url, Secret(SLACK_TOKEN), UrllibTransport("slack"), budget, FAST)
    return SlackNotifier(store, api=api, channel=CHANNEL, wait_for_post_seconds=3.0)


def _pagerduty(
    store: StateStore, receiver: PagerDutyReceiver, budget: Budget, *, slack_refs: StateStore
) -> PagerDutyNotifier:
    client = PagerDutyClient(receiver.url, Secret(ROUTING_KEY), UrllibTransport("pagerduty"), budget, FAST)
    return PagerDutyNotifier(store, client, PagerDutyOptions(), slack_refs=slack_refs)


def _upgraded(table: MemoryStore, owner: Owner, *, legacy: bool = True) -> OwnedStore:
    return OwnedStore.of(table, owner, read_legacy=legacy)


class TestSlack:
    def test_a_thread_opened_before_the_upgrade_is_resolved_in_place(
        self, slack_receiver: SlackReceiver, budget: Budget
    ) -> None:
        table = MemoryStore()
        firing = builders.alert_group()
        _slack(at_old_keys(table, slack_legacy_key), slack_receiver, budget).notify(firing)
        old_ref = table.get(pk=f"group#{firing.group_id}", sk="slack")
        assert old_ref is not None
        assert len(slack_receiver.posts()) == 1

        upgraded = _slack(_upgraded(table, Owner.SLACK), slack_receiver, budget)
        again = upgraded.notify(builders.alert_group(event_id="again#1"))
        resolved = upgraded.notify(builders.alert_group(status="resolved", event_id="resolved-1#1"))

        assert [d.outcome for d in again] == [Outcome.DUPLICATE]
        assert [d.action for d in resolved] == ["resolve"]
        assert len(slack_receiver.posts()) == 1
        [update] = slack_receiver.to("chat.update")
        [reply] = slack_receiver.thread_replies()
        assert update.body["ts"] == reply.body["thread_ts"] == old_ref.data["ts"]
        moved = table.get(pk=f"slack#ref#{firing.group_id}", sk="slack")
        assert moved is not None
        assert moved.data["status"] == "resolved"

    def test_a_later_part_joins_the_parts_posted_before_the_upgrade(
        self, slack_receiver: SlackReceiver, budget: Budget
    ) -> None:
        table = MemoryStore()
        first, second = builders.split(builders.storm(60, nodes=20), 2)
        _slack(at_old_keys(table, slack_legacy_key), slack_receiver, budget).notify(first)
        upgraded = _slack(_upgraded(table, Owner.SLACK), slack_receiver, budget)
        [delivery] = upgraded.notify(second)
        assert (delivery.outcome, delivery.action) == (Outcome.UPDATED, "update")
        assert len(slack_receiver.posts()) == 1
        old_ref = table.get(pk=f"group#{first.group_id}", sk="slack")
        assert old_ref is not None
        final = slack_receiver.messages[(CHANNEL, str(old_ref.data["ts"]))]
        assert "(60) on prod-eks" in final["text"]

    def test_without_legacy_reads_the_old_thread_is_forgotten(
        self, slack_receiver: SlackReceiver, budget: Budget
    ) -> None:
        """What the fallback is for: turned off, the resolve cannot find the message it belongs to."""
        table = MemoryStore()
        _slack(at_old_keys(table, slack_legacy_key), slack_receiver, budget).notify(builders.alert_group())
        upgraded = _slack(_upgraded(table, Owner.SLACK, legacy=False), slack_receiver, budget)
        upgraded.notify(builders.alert_group(event_id="again#1"))
        assert len(slack_receiver.posts()) == 2


class TestPagerDuty:
    def test_an_incident_triggered_before_the_upgrade_is_not_triggered_again_and_resolves(
        self, slack_receiver: SlackReceiver, pagerduty_receiver: PagerDutyReceiver, budget: Budget
    ) -> None:
        table = MemoryStore()
        _slack(at_old_keys(table, slack_legacy_key), slack_receiver, budget).notify(builders.alert_group())
        old_refs = at_old_keys(table, slack_legacy_key)
        old = _pagerduty(at_old_keys(table, same_key), pagerduty_receiver, budget, slack_refs=old_refs)
        old.notify(builders.alert_group())
        assert len(pagerduty_receiver.events("trigger")) == 1

        upgraded = _pagerduty(
            _upgraded(table, Owner.PAGERDUTY),
            pagerduty_receiver,
            budget,
            slack_refs=_upgraded(table, Owner.SLACK),
        )
        upgraded.notify(builders.alert_group(event_id="again#1"))
        upgraded.notify(builders.alert_group(status="resolved", event_id="resolved-1#1"))
        assert len(pagerduty_receiver.events("trigger")) == 1
        [resolve] = pagerduty_receiver.events("resolve")
        [trigger] = pagerduty_receiver.events("trigger")
        assert resolve["dedup_key"] == trigger["dedup_key"]

    def test_the_slack_thread_posted_before_the_upgrade_is_linked(
        self, slack_receiver: SlackReceiver, pagerduty_receiver: PagerDutyReceiver, budget: Budget
    ) -> None:
        table = MemoryStore()
        _slack(at_old_keys(table, slack_legacy_key), slack_receiver, budget).notify(builders.alert_group())
        upgraded = _pagerduty(
            _upgraded(table, Owner.PAGERDUTY),
            pagerduty_receiver,
            budget,
            slack_refs=_upgraded(table, Owner.SLACK),
        )
        upgraded.notify(builders.alert_group())
        [trigger] = pagerduty_receiver.events("trigger")
        assert "Slack thread" in {link["text"] for link in trigger["links"]}
