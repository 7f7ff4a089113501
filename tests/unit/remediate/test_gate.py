"""The persistence gate: alert start, the persisting rule's `for:`, and the fresh check."""

from __future__ import annotations

import pytest

from netguard.config.durations import parse_duration
from netguard.remediate.gate import (
    memory_from_alerts,
    merge_memory,
    node_of,
    observe,
    rule_for_seconds,
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


class TestRuleFor:
    def test_annotation_wins(self) -> None:
        """A rule that carries its `for:` as an annotation is read from the alert itself."""
        alert = linklocal_alert("a", annotations={"for": "10m"})
        assert rule_for_seconds(alert, {"LinklocalAllowanceExceeded": 60}) == 600

    def test_known_rules_by_name(self) -> None:
        assert rule_for_seconds(linklocal_alert("a"), {"LinklocalAllowanceExceeded": 120}) == 120

    def test_unknown_rule_has_no_for(self) -> None:
        assert rule_for_seconds(linklocal_alert("a"), {}) == 0


def memory(
    node: str = "a", *, started: float, for_: str = "", status: str = "firing"
) -> dict[str, NodeMemory]:
    annotations = {"for": for_} if for_ else {}
    return memory_from_alerts(
        [linklocal_alert(node, started=started, annotations=annotations, status=status)], now=NOW, rule_for={}
    )


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
        combined = memory_from_alerts(alerts, now=NOW, rule_for={})["a"]
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
    assert fresh({"a": "10.0.0.1:9100", "b": "10.0.0.2:9100", "c": "10.0.0.3:9100"}) == {
        "a": 3.0,
        "b": 0.0,
        "c": None,
    }

    def broken(_q: str) -> list[tuple[dict[str, str], float]]:
        raise OSError("connection refused")

    assert drop_rates(broken)({"a": "x"}) == {"a": None}
