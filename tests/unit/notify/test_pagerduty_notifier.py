"""The PagerDuty notifier against a strict local Events API v2: one trigger and one resolve per key."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from netguard.alerts.models import Status
from netguard.config.notify import DedupMode
from netguard.enriched import Outcome as ReportOutcome  # the notifier's own Outcome is a delivery's
from netguard.notify import DeliveryPermanent, DeliveryRetryable, Outcome, PagerDutyNotifier
from netguard.notify.slack.notifier import ref_pk
from netguard.state import MemoryStore
from tests.support import builders
from tests.support.receivers import PagerDutyReceiver, Reply

Build = Callable[..., PagerDutyNotifier]


class TestGroupMode:
    def test_trigger_then_resolve_share_the_dedup_key(
        self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver
    ) -> None:
        """The resolve closes the incident the trigger opened."""
        notifier = pagerduty()
        event = builders.alert_group()
        notifier.notify(event)
        notifier.notify(builders.alert_group(status="resolved", event_id="r#1"))
        trigger, resolve = pagerduty_receiver.events()
        assert trigger["event_action"] == "trigger"
        assert resolve == {
            "routing_key": pagerduty_receiver.routing_key,
            "event_action": "resolve",
            "dedup_key": trigger["dedup_key"],
        }
        assert pagerduty_receiver.incidents == {event.group_id: "resolved"}

    def test_trigger_payload(self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver) -> None:
        """Severity mapped, source is the node, details carry the enrichment, links the graph and runbook."""
        pagerduty(alertmanager_url="http://am.example.com").notify(builders.alert_group())
        [trigger] = pagerduty_receiver.events("trigger")
        payload = trigger["payload"]
        assert payload["severity"] == "critical"
        assert payload["source"] == "ip-10-0-1-23.ec2.internal"
        assert payload["custom_details"]["rows"][0]["instance_id"] == "i-0abc1234def567890"
        assert payload["custom_details"]["dns"]["replica_owner"] == "eks-addon"
        assert {link["text"] for link in trigger["links"]} == {"Graph", "Runbook", "Silence"}

    def test_slack_thread_is_linked_when_known(
        self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver, store: MemoryStore
    ) -> None:
        """The Slack permalink stored by notify_slack becomes a link of the incident."""
        event = builders.alert_group()
        store.put(
            pk=ref_pk(event.group_id),
            sk="slack",
            ttl_seconds=60,
            data={"status": "firing", "permalink": "https://example.slack.com/archives/C1/p1"},
        )
        pagerduty().notify(event)
        [trigger] = pagerduty_receiver.events("trigger")
        assert {"href": "https://example.slack.com/archives/C1/p1", "text": "Slack thread"} in trigger[
            "links"
        ]

    def test_duplicates_trigger_once(self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver) -> None:
        """However often (and however concurrently) a firing group arrives, one trigger goes out."""
        notifier = pagerduty()
        threads = [
            threading.Thread(target=notifier.notify, args=(builders.alert_group(event_id=f"m{i}#1"),))
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(pagerduty_receiver.events("trigger")) == 1

    @pytest.mark.parametrize(
        ("label", "mapping", "expected"),
        [
            ("critical", {}, "critical"),
            ("warning", {}, "warning"),
            ("P1", {}, "info"),
            ("P1", {"p1": "critical"}, "critical"),
            ("", {}, "info"),
        ],
    )
    def test_severity_mapping(
        self,
        pagerduty: Build,
        pagerduty_receiver: PagerDutyReceiver,
        label: str,
        mapping: dict[str, str],
        expected: str,
    ) -> None:
        """Known labels map explicitly; anything unknown becomes the configured default."""
        from netguard.config.notify import DEFAULT_SEVERITY_MAP

        notifier = pagerduty(severity_map={**DEFAULT_SEVERITY_MAP, **mapping}, default_severity="info")
        notifier.notify(builders.alert_group(severity=label))
        assert pagerduty_receiver.events("trigger")[0]["payload"]["severity"] == expected

    def test_storm_stays_within_limits(self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver) -> None:
        """A 1000-alert group is one trigger, within the 1024-character summary and 512 KB event."""
        pagerduty().notify(builders.storm(1000))
        [trigger] = pagerduty_receiver.events("trigger")
        assert trigger["payload"]["custom_details"]["total"] == 1000
        assert len(trigger["payload"]["summary"]) <= 1024

    def test_remediation_is_a_change_event(
        self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver
    ) -> None:
        """Remediation reports go to /v2/change/enqueue."""
        pagerduty().notify(builders.remediation())
        [change] = pagerduty_receiver.to("change")
        assert "scale_coredns" in change.body["payload"]["summary"]
        assert change.body["payload"]["custom_details"]["after"] == {"replicas": 3}
        assert "CoreDNS 2 → 3 replicas" in change.body["payload"]["summary"]

    def test_no_change_event_when_nothing_changed(
        self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver
    ) -> None:
        """A report of a run that changed nothing in the cluster (nor would have) is no change event."""
        [delivery] = pagerduty().notify(builders.remediation(outcome=ReportOutcome.SKIPPED, changed=False))
        assert delivery.outcome is Outcome.SKIPPED
        assert pagerduty_receiver.events() == []

    def test_unparseable_pages_only_when_configured(
        self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver
    ) -> None:
        """By default an unparseable notification is not paged; with the option it triggers."""
        [skipped] = pagerduty().notify(builders.unparseable())
        assert skipped.outcome is Outcome.SKIPPED
        assert pagerduty_receiver.events() == []
        pagerduty(trigger_unparseable=True).notify(builders.unparseable())
        assert len(pagerduty_receiver.events("trigger")) == 1

    def test_retries_then_succeeds(self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver) -> None:
        """429 and 500 are retried within the budget."""
        pagerduty_receiver.script(
            "enqueue", Reply(429, {"status": "throttled"}, {"Retry-After": "0"}), Reply.server_error(500)
        )
        [delivery] = pagerduty().notify(builders.alert_group())
        assert delivery.outcome is Outcome.SENT
        assert len(pagerduty_receiver.to("enqueue")) == 3

    def test_exhausted_retries_release_the_claim(
        self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver
    ) -> None:
        """After retries run out the claim is undone, so Lambda's retry can trigger."""
        pagerduty_receiver.script("enqueue", *[Reply.server_error(502)] * 4)
        notifier = pagerduty()
        with pytest.raises(DeliveryRetryable):
            notifier.notify(builders.alert_group())
        [delivery] = notifier.notify(builders.alert_group(event_id="again#1"))
        assert delivery.outcome is Outcome.SENT

    def test_bad_routing_key_is_permanent(
        self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver
    ) -> None:
        """400 from the Events API is not retried."""
        with pytest.raises(DeliveryPermanent):
            pagerduty(routing_key="0" * 32).notify(builders.alert_group())
        assert len(pagerduty_receiver.to("enqueue")) == 1


class TestAlertMode:
    def test_one_incident_per_alert(self, pagerduty: Build, pagerduty_receiver: PagerDutyReceiver) -> None:
        """With dedup per alert, each fingerprint triggers and resolves its own incident."""
        notifier = pagerduty(dedup=DedupMode.ALERT)
        alerts = [builders.enriched_alert(node=f"node-{i}") for i in range(3)]
        notifier.notify(builders.alert_group(alerts=alerts))
        resolved = [builders.enriched_alert(node=f"node-{i}", status=Status.RESOLVED) for i in range(3)]
        notifier.notify(builders.alert_group(alerts=resolved, status="resolved", event_id="r#1"))
        triggers = pagerduty_receiver.events("trigger")
        assert len({t["dedup_key"] for t in triggers}) == 3
        assert {t["payload"]["source"] for t in triggers} == {"node-0", "node-1", "node-2"}
        assert set(pagerduty_receiver.incidents.values()) == {"resolved"}
