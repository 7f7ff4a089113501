"""The persistence gate: alert start, the persisting rule's `for:`, and the fresh check."""

from __future__ import annotations

from typing import Any

import pytest

from netguard.alerts.models import AllowanceKind
from netguard.config.durations import parse_duration
from netguard.config.remediate import RemediationRules
from netguard.remediate.gate import (
    memory_from_alerts,
    merge_memory,
    node_of,
    observe,
    untrusted_reason,
)
from netguard.remediate.metrics import drop_rates
from netguard.remediate.models import DropStatus, NodeMemory
from tests.unit.remediate.fakes import NOW, linklocal_alert


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("1h30m", 5400),
        ("90s", 90),
        ("300", 300),
        ("1.5", 1.5),
        ("", None),
        ("5 minutes", None),
        ("m5", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


RULES = RemediationRules(for_seconds={"LinklocalAllowanceExceededPersisting": 0.0})


class TestTrust:
    """Only the operator's rules move remediation: name AND label from configuration, linklocal
    by the counter's name, and an unambiguous reading; never what the alert says about itself."""

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({}, ""),
            (
                {"alertname": "HighErrorRate", "labels": {"route": "linklocal_allowance_exceeded"}},
                "not_our_rule",
            ),
            ({"labels": {"netguard_remediate": None}}, "not_our_rule"),
            ({"labels": {"netguard_remediate": "DNS"}}, "not_our_rule"),
            ({"alertname": "LinklocalAllowanceExceeded"}, "not_our_rule"),
            ({"ambiguity": "two alertname lines"}, "ambiguous"),
            ({"allowance": AllowanceKind.PPS}, "not_linklocal"),
            ({"allowance": AllowanceKind.UNKNOWN}, "not_linklocal"),
        ],
    )
    def test_untrusted_reason(self, kwargs: dict[str, Any], reason: str) -> None:
        assert untrusted_reason(linklocal_alert("a", **kwargs), RemediationRules()) == reason

    def test_configured_rules_and_label(self) -> None:
        """REMEDIATION_RULES replaces the shipped rule; REMEDIATION_LABEL names the label to carry."""
        rules = RemediationRules(for_seconds={"MyDnsRule": 60.0}, label=("team", "dns"))
        mine = linklocal_alert("a", alertname="MyDnsRule", labels={"team": "dns"})
        assert untrusted_reason(mine, rules) == ""
        assert untrusted_reason(linklocal_alert("a"), rules) == "not_our_rule"

    def test_for_comes_from_configuration_never_the_alert(self) -> None:
        """An alert claiming `for: 1s` (any annotation) gets the configured 5 minutes."""
        alert = linklocal_alert("a", started=NOW - 60, annotations={"for": "1s", "netguard_for": "1s"})
        memory = memory_from_alerts([alert], now=NOW, rules=RemediationRules())
        assert memory["a"].since == NOW - 60 - 300
        assert [o.status for o in observe(memory, now=NOW, persistence_seconds=400)] == [DropStatus.TRANSIENT]

    def test_untrusted_alerts_leave_no_memory(self) -> None:
        alerts = [
            linklocal_alert("a", alertname="HighErrorRate", labels={"route": "linklocal_allowance_exceeded"}),
            linklocal_alert("b", ambiguity="duplicate labels"),
        ]
        assert memory_from_alerts(alerts, now=NOW, rules=RemediationRules()) == {}


class TestUntimed:
    """An alert without times (AMP's default text) may be a late redelivery: only a fresh query that
    shows drops on the node now lets it count as persisting."""

    def memory(self) -> dict[str, NodeMemory]:
        return memory_from_alerts([linklocal_alert("a", timed=False)], now=NOW, rules=RULES)

    def test_without_fresh_query_unknown(self) -> None:
        [obs] = observe(self.memory(), now=NOW, persistence_seconds=0)
        assert obs.status is DropStatus.UNKNOWN
        assert "no times" in obs.evidence

    def test_fresh_query_without_data_unknown(self) -> None:
        [obs] = observe(self.memory(), now=NOW, persistence_seconds=0, fresh={"a": None})
        assert obs.status is DropStatus.UNKNOWN

    def test_fresh_drops_confirm(self) -> None:
        [obs] = observe(self.memory(), now=NOW, persistence_seconds=0, fresh={"a": 40.0})
        assert obs.status is DropStatus.PERSISTING

    def test_timed_alert_keeps_its_verdict_without_query(self) -> None:
        memory = memory_from_alerts([linklocal_alert("a")], now=NOW, rules=RULES)
        assert observe(memory, now=NOW, persistence_seconds=0)[0].status is DropStatus.PERSISTING


def memory(
    node: str = "a", *, started: float, for_: str = "", status: str = "firing"
) -> dict[str, NodeMemory]:
    seconds = parse_duration(for_) if for_ else 0.0
    rules = RemediationRules(for_seconds={"LinklocalAllowanceExceededPersisting": seconds or 0.0})
    return memory_from_alerts([linklocal_alert(node, started=started, status=status)], now=NOW, rules=rules)


class TestObserve:
    @pytest.mark.parametrize(
        ("started", "for_", "status"),
        [
            (NOW - 300, "", DropStatus.PERSISTING),
            (NOW - 299, "", DropStatus.TRANSIENT),
            (NOW - 60, "5m", DropStatus.PERSISTING),  # fired 60 s ago after a 5 m `for:` = 6 minutes of drops
            (NOW - 10, "2m", DropStatus.TRANSIENT),
        ],
    )
    def test_duration_from_start_and_rule_for(self, started: float, for_: str, status: DropStatus) -> None:
        observations = observe(memory(started=started, for_=for_), now=NOW, persistence_seconds=300)
        assert [o.status for o in observations] == [status]

    def test_resolved_alert_is_recovered(self) -> None:
        observations = observe(memory(started=NOW - 900, status="resolved"), now=NOW, persistence_seconds=300)
        assert observations[0].status is DropStatus.RECOVERED

    def test_fresh_zero_means_recovered(self) -> None:
        observations = observe(memory(started=NOW - 900), now=NOW, persistence_seconds=300, fresh={"a": 0.0})
        assert observations[0].status is DropStatus.RECOVERED

    def test_fresh_rate_is_used(self) -> None:
        observations = observe(memory(started=NOW - 900), now=NOW, persistence_seconds=300, fresh={"a": 12.5})
        assert observations[0].status is DropStatus.PERSISTING
        assert observations[0].drop_rate == 12.5

    def test_fresh_missing_keeps_alert_verdict_and_says_unknown(self) -> None:
        """A query without data never turns a firing alert into recovery."""
        observations = observe(memory(started=NOW - 900), now=NOW, persistence_seconds=300, fresh={"a": None})
        assert observations[0].status is DropStatus.PERSISTING
        assert "unknown, not taken as recovery" in observations[0].evidence

    def test_resolved_but_no_data_is_unknown(self) -> None:
        """A resolved alert with no metrics behind it may be the metrics pipeline failing: unknown."""
        observations = observe(
            memory(started=NOW - 900, status="resolved"), now=NOW, persistence_seconds=300, fresh={}
        )
        assert observations[0].status is DropStatus.UNKNOWN


class TestMemory:
    def test_devices_on_one_node_combine(self) -> None:
        alerts = [
            linklocal_alert("a", started=NOW - 100, rate=10.0),
            linklocal_alert("a", started=NOW - 500, rate=5.0),
        ]
        combined = memory_from_alerts(alerts, now=NOW, rules=RULES)["a"]
        assert combined.since == NOW - 500
        assert combined.drop_rate == 15.0

    def test_merge_keeps_earliest_start_and_forgets_old(self) -> None:
        old = {"a": NodeMemory(True, NOW - 1000, NOW - 10), "z": NodeMemory(True, NOW - 99999, NOW - 90000)}
        merged = merge_memory(old, memory(started=NOW - 100), now=NOW, retention_seconds=86400)
        assert merged["a"].since == NOW - 1000
        assert "z" not in merged

    def test_node_falls_back_to_labels(self) -> None:
        alert = linklocal_alert("a")
        from dataclasses import replace

        assert node_of(replace(alert, node=None)) == "a"


def test_drop_rates_match_instance_or_host() -> None:
    """Series are matched by `instance`, then by host when the port differs; failures are no data."""
    samples = [({"instance": "10.0.0.1:9100"}, 3.0), ({"instance": "10.0.0.2:9200"}, 0.0)]
    fresh = drop_rates(lambda _q: samples)
    assert fresh("prod", {"a": "10.0.0.1:9100", "b": "10.0.0.2:9100", "c": "10.0.0.3:9100"}) == {
        "a": 3.0,
        "b": 0.0,
        "c": None,
    }

    def broken(_q: str) -> list[tuple[dict[str, str], float]]:
        raise OSError("connection refused")

    assert drop_rates(broken)("prod", {"a": "x"}) == {"a": None}
