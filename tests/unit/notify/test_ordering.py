"""Ordering by the alerts' own times: a firing delivered again after its resolve changes nothing in the
Slack and PagerDuty ledgers; a later start is a new incident; alerts without times keep arrival order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from netguard.alerts import ordering
from netguard.alerts.models import Status
from netguard.config.notify import DedupMode
from netguard.enriched import EnrichedEvent
from netguard.notify import Outcome, PagerDutyNotifier, SlackNotifier
from tests.support import builders
from tests.support.receivers import PagerDutyReceiver, SlackReceiver

LATER = builders.STARTS + timedelta(hours=2)


def group(
    status: str = "firing", *, starts_at: Any = builders.STARTS, event_id: str = "e#1"
) -> EnrichedEvent:
    item = builders.enriched_alert(
        status=Status.RESOLVED if status == "resolved" else Status.FIRING, starts_at=starts_at
    )
    return builders.alert_group(alerts=[item], status=status, event_id=event_id)


class TestPure:
    """`alerts.ordering`: the newest state per fingerprint by startsAt/endsAt."""

    def test_firing_not_after_its_resolve_is_stale(self) -> None:
        firing, resolved = group().alerts[0].alert, group("resolved").alerts[0].alert
        seen = ordering.remember({}, [firing, resolved])
        assert ordering.is_stale(firing, seen)
        assert not ordering.is_stale(group(starts_at=LATER).alerts[0].alert, seen)

    def test_resolve_of_an_older_incident_is_stale(self) -> None:
        """A late resolve of incident 1 after incident 2 started does not close incident 2."""
        old_resolve = group("resolved").alerts[0].alert
        seen = ordering.remember({}, [group(starts_at=LATER).alerts[0].alert])
        assert ordering.is_stale(old_resolve, seen)

    def test_no_times_is_never_stale(self) -> None:
        seen = ordering.remember({}, [group("resolved").alerts[0].alert])
        assert not ordering.is_stale(group(starts_at=None).alerts[0].alert, seen)

    def test_stale_does_not_overwrite(self) -> None:
        resolved = group("resolved").alerts[0].alert
        seen = ordering.remember({}, [resolved])
        assert ordering.remember(seen, [group().alerts[0].alert]) == seen

    def test_round_trip_and_bound(self) -> None:
        alerts = [
            builders.alert(labels={"device": f"eth{i}"}, starts_at=builders.STARTS + timedelta(seconds=i))
            for i in range(ordering.SEEN_LIMIT + 20)
        ]
        seen = ordering.remember({}, alerts)
        assert len(seen) == ordering.SEEN_LIMIT
        assert alerts[-1].fingerprint in seen
        assert alerts[0].fingerprint not in seen
        assert ordering.seen_from_json(ordering.seen_to_json(seen)) == seen
        assert ordering.seen_from_json({"x": "garbage", "y": [1, "t", None]}) == {}


class TestSlack:
    def test_late_firing_after_resolve_posts_nothing(
        self, slack_bot: Callable[..., SlackNotifier], slack_receiver: SlackReceiver
    ) -> None:
        """firing -> resolved -> the same firing again: no new message, no edit back to FIRING."""
        notifier = slack_bot()
        notifier.notify(group(event_id="a#1"))
        notifier.notify(group("resolved", event_id="b#1"))
        calls = len(slack_receiver.requests)
        [delivery] = notifier.notify(group(event_id="c#1"))
        assert delivery.outcome is Outcome.SKIPPED
        assert "stale" in delivery.detail
        assert len(slack_receiver.requests) == calls
        assert len(slack_receiver.posts()) == 1

    def test_later_start_is_a_new_incident(
        self, slack_bot: Callable[..., SlackNotifier], slack_receiver: SlackReceiver
    ) -> None:
        notifier = slack_bot()
        for event in (group(event_id="a#1"), group("resolved", event_id="b#1"), group(starts_at=LATER)):
            notifier.notify(event)
        assert len(slack_receiver.posts()) == 2

    def test_untimed_alerts_keep_arrival_order(
        self, slack_bot: Callable[..., SlackNotifier], slack_receiver: SlackReceiver
    ) -> None:
        """AMP's default text carries no times: a firing after a resolve is taken as new."""
        notifier = slack_bot()
        for event in (
            group(starts_at=None, event_id="a#1"),
            group("resolved", starts_at=None, event_id="b#1"),
            group(starts_at=None, event_id="c#1"),
        ):
            notifier.notify(event)
        assert len(slack_receiver.posts()) == 2


class TestPagerDuty:
    @pytest.mark.parametrize("mode", [DedupMode.GROUP, DedupMode.ALERT])
    def test_late_firing_after_resolve_does_not_retrigger(
        self,
        pagerduty: Callable[..., PagerDutyNotifier],
        pagerduty_receiver: PagerDutyReceiver,
        mode: DedupMode,
    ) -> None:
        notifier = pagerduty(dedup=mode)
        notifier.notify(group(event_id="a#1"))
        notifier.notify(group("resolved", event_id="b#1"))
        [delivery] = notifier.notify(group(event_id="c#1"))
        assert delivery.outcome is Outcome.SKIPPED
        assert [e["event_action"] for e in pagerduty_receiver.events()] == ["trigger", "resolve"]
        assert set(pagerduty_receiver.incidents.values()) == {"resolved"}

    def test_late_resolve_does_not_close_a_newer_incident(
        self, pagerduty: Callable[..., PagerDutyNotifier], pagerduty_receiver: PagerDutyReceiver
    ) -> None:
        notifier = pagerduty()
        notifier.notify(group(event_id="a#1"))
        notifier.notify(group("resolved", event_id="b#1"))
        notifier.notify(group(starts_at=LATER, event_id="c#1"))
        [delivery] = notifier.notify(group("resolved", event_id="b-again#1"))
        assert delivery.outcome is Outcome.SKIPPED
        assert [e["event_action"] for e in pagerduty_receiver.events()] == ["trigger", "resolve", "trigger"]
        assert set(pagerduty_receiver.incidents.values()) == {"triggered"}
