"""Remediation acts only for the operator's rules and orders alerts by their own times."""

from __future__ import annotations

from typing import Any

import pytest

from netguard.alerts.models import AllowanceKind
from netguard.enriched import ActionKind, Outcome
from netguard.remediate import operator
from tests.unit.remediate.fakes import NOW, event, linklocal_alert
from tests.unit.remediate.test_service import World

UNRELATED: dict[str, Any] = {
    "alertname": "HighErrorRate",
    "labels": {"route": "linklocal_allowance_exceeded", "netguard_remediate": None},
    "annotations": {"for": "1s", "summary": "linklocal_allowance_exceeded"},
}


class TestOnlyTheOperatorsRules:
    @pytest.mark.parametrize(
        "kwargs",
        [
            pytest.param(UNRELATED, id="unrelated rule claiming linklocal, for: 1s, started 30 m ago"),
            pytest.param({"labels": {"netguard_remediate": None}}, id="rule name without the label"),
            pytest.param({"alertname": "LinklocalAllowanceExceeded"}, id="the non-persisting rule"),
            pytest.param(
                {"alertname": "Evil", "labels": {"netguard_remediate": "dns"}}, id="the label on another rule"
            ),
        ],
    )
    def test_not_our_rule_changes_nothing_and_says_nothing(self, kwargs: dict[str, Any]) -> None:
        """Drops on the CoreDNS node, but the alert is not of a configured rule: no change, no report
        (it is enriched and notified like any alert)."""
        world = World()
        alert = linklocal_alert("node-0", started=NOW - 1800, **kwargs)
        assert world.service.on_event(event(alert, alertname=alert.alert.name)) is None
        assert world.cluster.changes == []
        assert world.out.events == []
        assert world.service.history("prod").version == 0

    @pytest.mark.parametrize(
        ("kwargs", "words"),
        [
            ({"ambiguity": "two alertname values"}, "could not be read unambiguously"),
            ({"allowance": AllowanceKind.PPS}, "not about the linklocal counter"),
        ],
    )
    def test_our_rule_but_untrusted_is_reported_skipped(self, kwargs: dict[str, Any], words: str) -> None:
        world = World()
        handled = world.service.on_event(event(linklocal_alert("node-0", **kwargs)))
        assert handled is not None
        assert handled.report.outcome is Outcome.SKIPPED
        assert words in handled.report.reasons[0]
        assert world.cluster.changes == []

    def test_trusted_alert_acts_beside_untrusted_ones(self) -> None:
        """Only the trusted alert is remembered; the others in the same group are ignored."""
        world = World()
        handled = world.service.on_event(
            event(
                linklocal_alert("node-5", **UNRELATED),
                linklocal_alert("node-6", ambiguity="duplicate label"),
                linklocal_alert("node-0"),
            )
        )
        assert handled is not None
        assert world.cluster.changes == ["scale 2->4"]
        assert set(world.service.history("prod").nodes) == {"node-0"}

    def test_for_comes_from_configuration(self) -> None:
        """A persisting-rule alert that started 1 s ago has lasted the rule's 5 m `for:` plus 1 s,
        whatever `for` it carries; with a 10 m gate it is transient."""
        world = World(persistence_seconds=600)
        world.service.on_event(event(linklocal_alert("node-0", started=NOW - 1, annotations={"for": "1h"})))
        assert world.cluster.changes == []
        assert world.service.history("prod").nodes["node-0"].since == NOW - 301


class TestOrderedByTheAlertsTimes:
    def test_firing_again_after_resolve_changes_nothing(self) -> None:
        """firing -> resolved -> the same firing again (a redelivery): no second change."""
        world = World(cooldown_seconds=0)
        start = NOW - 600
        world.service.on_event(event(linklocal_alert("node-0", started=start), event_id="f1"))
        assert world.cluster.changes == ["scale 2->4"]
        world.clock.advance(60)
        resolved = linklocal_alert("node-0", status="resolved", started=start, ended=NOW + 30)
        world.service.on_event(event(resolved, event_id="r1", status="resolved"))
        world.clock.advance(60)
        published = len(world.out.events)
        handled = world.service.on_event(event(linklocal_alert("node-0", started=start), event_id="f1-again"))
        assert handled is not None
        assert handled.report.outcome is Outcome.SKIPPED
        assert handled.report.reasons[0].startswith("stale:")
        assert world.cluster.changes == ["scale 2->4"]
        assert len(world.out.events) == published  # nothing published for a stale delivery
        history = world.service.history("prod")
        assert history.nodes["node-0"].firing is False
        assert history.stale_events == 1

    def test_a_later_start_is_a_new_incident(self) -> None:
        world = World(cooldown_seconds=0)
        start = NOW - 600
        world.service.on_event(event(linklocal_alert("node-0", started=start), event_id="f1"))
        resolved = linklocal_alert("node-0", status="resolved", started=start, ended=NOW)
        world.service.on_event(event(resolved, event_id="r1", status="resolved"))
        world.clock.advance(900)
        handled = world.service.on_event(event(linklocal_alert("node-0", started=NOW + 100), event_id="f2"))
        assert handled is not None
        assert not handled.report.reasons[0].startswith("stale")
        history = world.service.history("prod")
        assert history.nodes["node-0"].firing is True
        assert history.stale_events == 0

    def test_untimed_alert_needs_a_fresh_query(self) -> None:
        """AMP's default text has no times: without a query confirming drops now, nothing changes."""
        world = World()
        world.service.on_event(event(linklocal_alert("node-0", timed=False)))
        assert world.cluster.changes == []
        assert (
            "no times" in world.out.reports[-1].reasons[0] or world.out.reports[-1].action is ActionKind.NONE
        )

    def test_untimed_alert_confirmed_by_query_acts(self) -> None:
        world = World(fresh=lambda _cluster, nodes: dict.fromkeys(nodes, 50.0))
        world.service.on_event(event(linklocal_alert("node-0", timed=False)))
        assert [c.split()[0] for c in world.cluster.changes] == ["scale"]


class TestRevertOnlyWhatIsStillOurs:
    def test_floor_changed_since_is_left_and_reported(self) -> None:
        """netguard raised 2 -> 4; an operator raised it to 6 since: revert leaves 6 and says why."""
        world = World()
        world.alert("node-0")
        assert world.service.history("prod").floor_set_by_netguard == 4
        world.cluster._scale_to(6)  # someone else's change
        handled = world.service.operator("prod", operator.revert_coredns)
        assert handled is not None
        assert handled.report.outcome is Outcome.SKIPPED
        assert "changed since by someone else" in handled.report.reasons[0]
        assert world.cluster.replicas == 6
        assert world.cluster.changes == ["scale 2->4"]
        history = world.service.history("prod")
        assert (history.original_coredns, history.floor_set_by_netguard) == (None, None)

    def test_automatic_revert_leaves_a_changed_floor(self) -> None:
        """REVERT_COREDNS after the quiet period: only while the floor is still netguard's."""
        world = World(revert_coredns=True, quiet_seconds_before_revert=60, cooldown_seconds=0)
        world.alert("node-0", event_id="f1")
        world.cluster._scale_to(5)
        world.clock.advance(30)
        world.alert("node-0", event_id="r1", status="resolved")
        world.clock.advance(120)
        handled = world.follow_up()
        assert handled is not None
        assert "changed since by someone else" in handled.report.reasons[0]
        assert world.cluster.replicas == 5

    def test_floor_still_ours_is_restored(self) -> None:
        world = World()
        world.alert("node-0")
        handled = world.service.operator("prod", operator.revert_coredns)
        assert handled is not None
        assert handled.report.outcome is Outcome.APPLIED
        assert world.cluster.changes == ["scale 2->4", "restore 4->2"]
