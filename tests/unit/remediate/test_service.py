"""The orchestrator with a fake cluster: decisions, safety, follow-ups and reports end to end."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from netguard.config.remediate import Mode
from netguard.enriched import ActionKind, EventType, Outcome
from netguard.errors import RetryableError
from netguard.remediate import operator
from netguard.remediate.actuators import ActuatorRetryable
from netguard.remediate.service import FollowUp, RemediationService
from netguard.state import MemoryStore
from tests.unit.remediate.fakes import (
    NOW,
    Clock,
    FakeCluster,
    FakeKillSwitch,
    Recorder,
    event,
    linklocal_alert,
    settings,
)


class World:
    def __init__(
        self, cluster: FakeCluster | None = None, *, fresh: Any = None, forwards: Any = None, **overrides: Any
    ) -> None:
        self.clock = Clock()
        self.store = MemoryStore(clock=self.clock)
        self.cluster = cluster or FakeCluster()
        self.out = Recorder()
        self.kill = FakeKillSwitch()
        self.settings = settings(**overrides)
        self.service = RemediationService(
            self.settings,
            store=self.store,
            publisher=self.out,
            followups=self.out,
            # An in-memory stand-in: the service takes the SSM-backed class itself (no protocol).
            kill_switch=self.kill,  # type: ignore[arg-type]
            connect=self.cluster.connect,
            fresh=fresh,
            forwards=forwards,
            clock=self.clock,
        )

    def alert(self, *nodes: str, event_id: str = "m1", status: str = "firing", **kwargs: Any) -> Any:
        alerts = [linklocal_alert(n, status=status, started=self.clock.now - 600, **kwargs) for n in nodes]
        return self.service.on_event(event(*alerts, event_id=event_id, status=status))

    def follow_up(self) -> Any:
        message, _ = self.out.follow_ups[-1]
        self.clock.now = max(self.clock.now, message.due_at)
        return self.service.on_follow_up(message)


class TestAct:
    def test_persistent_drops_on_coredns_node_raise_replicas(self) -> None:
        world = World()
        handled = world.alert("node-0")
        assert world.cluster.changes == ["scale 2->4"]
        assert world.cluster.pods == {"node-0": 1, "node-1": 1, "node-2": 1, "node-3": 1}
        report = handled.report
        assert (report.action, report.outcome, report.mode) == (
            ActionKind.SCALE_COREDNS,
            Outcome.APPLIED,
            "enforce",
        )
        assert report.before["replicas"] == 2
        assert report.after["replicas"] == 4
        assert report.follow_up == "verification in 300 s"
        assert world.out.follow_ups[0][1] == 300
        history = world.service.history("prod")
        assert history.original_coredns == {"owner": "deployment", "floor": 2, "replicas": 2}
        assert history.cooldown_until == NOW + 600
        assert world.service.audit_records("prod")[0]["decision_id"] == report.decision_id

    def test_every_decision_is_published_as_a_remediation_event(self) -> None:
        world = World()
        world.alert("node-0", event_id="m1")
        world.alert("node-0", event_id="m2")
        world.alert("node-5", event_id="m3")
        assert [e.event_type for e in world.out.events] == [EventType.REMEDIATION] * 3
        assert [r.outcome for r in world.out.reports] == [Outcome.APPLIED, Outcome.SKIPPED, Outcome.SKIPPED]
        assert all(e.group_id == "netguard/prod/LinklocalAllowanceExceeded" for e in world.out.events)

    def test_repeated_alerts_inside_cooldown_change_nothing(self) -> None:
        world = World()
        world.alert("node-0", event_id="m1")
        world.clock.advance(100)
        handled = world.alert("node-0", event_id="m2")
        assert world.cluster.changes == ["scale 2->4"]
        assert handled.report.outcome is Outcome.SKIPPED
        assert "cooldown after scale_coredns" in handled.report.reasons[0]
        assert handled.report.reasons[1].startswith("would have: ")

    def test_duplicate_delivery_is_silent(self) -> None:
        world = World()
        world.alert("node-0", event_id="m1")
        assert world.alert("node-0", event_id="m1") is None
        assert len(world.out.events) == 1

    def test_maximum_holds(self) -> None:
        world = World(coredns_max_replicas=3, cooldown_seconds=0)
        world.alert("node-0", event_id="m1", rate=40.0)
        world.alert("node-0", event_id="m2", rate=40.0)
        assert world.cluster.changes == ["scale 2->3"]
        assert world.cluster.replicas == 3
        last = world.out.reports[-1]
        assert last.action is ActionKind.ENABLE_NODELOCAL
        assert last.outcome is Outcome.DRY_RUN

    def test_drops_without_coredns_name_bypass_pods(self) -> None:
        world = World()
        handled = world.alert("node-5", bypass=("default/hostnet-app",))
        assert world.cluster.changes == []
        assert handled.report.action is ActionKind.NONE
        assert "default/hostnet-app" in handled.report.reasons[1]


class TestConcurrency:
    @pytest.mark.parametrize("same_event", [True, False])
    def test_twenty_concurrent_deliveries_make_one_change(self, same_event: bool) -> None:
        """Duplicates of one event, or 20 different events at once: exactly one change."""
        world = World()

        def deliver(i: int) -> Any:
            return world.alert("node-0", event_id="m1" if same_event else f"m{i}")

        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(deliver, range(20)))
        assert world.cluster.changes == ["scale 2->4"]
        handled = [r for r in results if r is not None]
        assert sum(r.report.outcome is Outcome.APPLIED for r in handled) == 1
        assert len(handled) == (1 if same_event else 20)
        assert len(world.out.events) == len(handled)


class TestSwitches:
    def test_kill_switch_observes_nothing_changes_nothing(self) -> None:
        world = World()
        world.kill.engaged = True
        handled = world.alert("node-0")
        assert world.cluster.changes == []
        assert world.cluster.observed == 0
        assert handled.report.outcome is Outcome.SKIPPED
        assert "kill switch engaged" in handled.report.reasons[0]

    def test_kill_switch_read_at_every_invocation(self) -> None:
        world = World()
        world.kill.engaged = True
        world.alert("node-0", event_id="m1")
        world.kill.engaged = False
        world.alert("node-0", event_id="m2")
        assert world.kill.reads == 2
        assert world.cluster.changes == ["scale 2->4"]

    def test_mode_off_changes_nothing(self) -> None:
        world = World(coredns_mode=Mode.OFF)
        handled = world.alert("node-0")
        assert world.cluster.changes == []
        assert handled.report.outcome is Outcome.SKIPPED
        assert handled.report.mode == "off"
        assert "mode for scale_coredns is off" in handled.report.reasons[0]

    def test_dry_run_says_what_would_have_been(self) -> None:
        world = World(coredns_mode=Mode.DRY_RUN)
        handled = world.alert("node-0")
        assert world.cluster.changes == []
        report = handled.report
        assert report.outcome is Outcome.DRY_RUN
        assert report.mode == "dry-run"
        assert report.reasons[0] == "dry-run (COREDNS_MODE=dry-run), nothing changed: would scale to 4"
        assert report.after["replicas"] == 4
        assert report.before["replicas"] == 2
        assert world.service.history("prod").original_coredns is None


class TestFollowUp:
    def test_not_due_is_requeued_and_long_delays_chain(self) -> None:
        world = World()
        message = FollowUp("prod", "f1", NOW + 2000)
        assert world.service.on_follow_up(message) is None
        assert world.out.follow_ups == [(message, 900)]

    def test_resolved_then_verified_closes(self) -> None:
        world = World()
        world.alert("node-0", event_id="m1")
        world.clock.advance(100)
        world.alert("node-0", event_id="m2", status="resolved")
        handled = world.follow_up()
        assert handled.report.follow_up == "verified: drops stopped; closed"
        assert world.service.history("prod").follow_up_id == ""
        assert len(world.out.follow_ups) == 1

    def test_not_reduced_escalates_to_nodelocal(self) -> None:
        """Scaling did not reduce the drops by the verification: NodeLocal (dry-run by default)."""
        world = World(cooldown_seconds=300)
        world.alert("node-0", event_id="m1", rate=50.0)
        handled = world.follow_up()
        report = handled.report
        assert (report.action, report.outcome) == (ActionKind.ENABLE_NODELOCAL, Outcome.DRY_RUN)
        assert "did not reduce the drops" in report.reasons[1]
        assert world.cluster.changes == ["scale 2->3"]  # at 50 drops/s one more replica is the estimate

    def test_nodelocal_enforced_then_escalate_at_max(self) -> None:
        world = World(cooldown_seconds=300, nodelocal_mode=Mode.ENFORCE, coredns_max_replicas=4)
        world.alert("node-0", event_id="m1")
        assert world.follow_up().report.action is ActionKind.ENABLE_NODELOCAL
        final = world.follow_up().report
        assert world.cluster.changes == ["scale 2->4", "enable nodelocal"]
        assert (final.action, final.outcome) == (ActionKind.ESCALATE, Outcome.APPLIED)
        assert final.follow_up == "escalated to on-call; no further automatic steps"

    def test_ipvs_refuses_with_reason(self) -> None:
        world = World(FakeCluster(kube_proxy_mode="ipvs"), cooldown_seconds=300, coredns_max_replicas=4)
        world.alert("node-0", event_id="m1")
        report = world.follow_up().report
        assert (report.action, report.outcome) == (ActionKind.ESCALATE, Outcome.REFUSED)
        assert "kube-proxy runs in ipvs" in report.reasons[0]
        assert world.cluster.changes == ["scale 2->4"]

    def test_cooldown_holds_until_it_ends(self) -> None:
        world = World(cooldown_seconds=600, verify_seconds=300)
        world.alert("node-0", event_id="m1")
        report = world.follow_up().report
        assert report.outcome is Outcome.SKIPPED
        assert report.follow_up == "hold: next check in 300 s"
        assert world.out.follow_ups[-1][0].due_at == NOW + 600

    def test_superseded_follow_up_is_dropped(self) -> None:
        world = World()
        world.alert("node-0", event_id="m1")
        stale = FollowUp("prod", "not-current", NOW)
        assert world.service.on_follow_up(stale) is None
        assert len(world.out.events) == 1

    def test_checks_are_bounded(self) -> None:
        """Drops that stay unknown are re-checked a bounded number of times, then handed over."""
        world = World(FakeCluster(), fresh=lambda _c, nodes: dict.fromkeys(nodes), max_verifications=3)
        world.alert("node-0", event_id="m1", status="resolved")  # resolved, but no data behind it: unknown
        assert "unknown" in world.out.reports[0].reasons[0]
        texts = []
        for _ in range(5):
            handled = world.follow_up()
            texts.append(handled.report.follow_up)
            if not handled.follow_up:
                break
        assert texts[-1].startswith("stopped checking after 3 checks")
        assert world.cluster.changes == []

    def test_transient_drops_are_checked_when_the_gate_would_pass(self) -> None:
        """Drops since the alert's start minus the rule's configured 5 m `for:`; the gate is 10 m."""
        world = World(persistence_seconds=600)
        alerts = [linklocal_alert("node-0", started=NOW - 100)]
        handled = world.service.on_event(event(*alerts))
        assert handled is not None
        assert handled.report.action is ActionKind.NONE
        assert world.out.follow_ups[-1][0].due_at == NOW - 100 - 300 + 600
        world.clock.now = NOW + 200
        assert world.follow_up().report.action is ActionKind.SCALE_COREDNS


class TestFailures:
    def test_unobservable_cluster_is_reported_and_rechecked(self) -> None:
        world = World()

        def broken(config: Any, now: float) -> Any:
            raise ConnectionError("apiserver down")

        world.service._connect = broken
        handled = world.alert("node-0")
        assert handled.report.outcome is Outcome.FAILED
        assert "cannot observe cluster prod: apiserver down" in handled.report.reasons[0]
        assert handled.follow_up is not None

    def test_retryable_actuator_failure_is_reported_and_retried(self) -> None:
        world = World(FakeCluster(fail_with=ActuatorRetryable("conflict")))
        with pytest.raises(RetryableError):
            world.alert("node-0", event_id="m1")
        assert world.out.reports[-1].outcome is Outcome.FAILED
        world.cluster.fail_with = None
        handled = world.alert("node-0", event_id="m1")  # the retry of the same delivery runs again
        assert handled.report.outcome is Outcome.APPLIED

    def test_unknown_cluster_is_reported(self) -> None:
        world = World(default_cluster=None)
        handled = world.service.on_event(event(linklocal_alert("node-0"), cluster="elsewhere"))
        assert handled is not None
        assert handled.report.outcome is Outcome.SKIPPED
        assert "'elsewhere' is not in CLUSTERS" in handled.report.reasons[0]

    def test_other_events_are_ignored(self) -> None:
        world = World()
        from dataclasses import replace

        remediation = replace(event(linklocal_alert("node-0")), event_type=EventType.REMEDIATION)
        assert world.service.on_event(remediation) is None
        assert world.service.on_event(event()) is None
        assert world.out.events == []


class TestOperator:
    def test_revert_restores_and_disable_removes(self) -> None:
        world = World(cooldown_seconds=300, nodelocal_mode=Mode.ENFORCE, coredns_max_replicas=4)
        world.alert("node-0", event_id="m1")
        world.follow_up()
        assert world.service.history("prod").nodelocal_enabled_by_netguard
        world.clock.advance(10)
        nodelocal = world.service.operator("prod", operator.revert_nodelocal, by="alice")
        coredns = world.service.operator("prod", operator.revert_coredns, by="alice")
        assert world.cluster.changes[-2:] == ["disable nodelocal", "restore 4->2"]
        assert nodelocal is not None
        assert coredns is not None
        assert nodelocal.report.outcome is Outcome.APPLIED
        assert coredns.report.outcome is Outcome.APPLIED
        history = world.service.history("prod")
        assert history.original_coredns is None
        assert not history.nodelocal_enabled_by_netguard
        assert world.service.audit_records("prod")[0]["by"] == "alice"

    def test_operator_ignores_kill_switch_but_honours_dry_run(self) -> None:
        world = World()
        world.alert("node-0", event_id="m1")
        world.kill.engaged = True
        handled = world.service.operator("prod", operator.revert_coredns, dry_run=True)
        assert handled is not None
        assert handled.report.outcome is Outcome.DRY_RUN
        assert world.cluster.changes == ["scale 2->4"]


def test_retryable_failure_in_a_follow_up_keeps_it_current() -> None:
    """SQS redelivers a follow-up whose action failed transiently; it must not count as superseded."""
    world = World(cooldown_seconds=300, coredns_mode=Mode.ENFORCE)
    world.alert("node-0", event_id="m1", rate=None)
    message, _ = world.out.follow_ups[-1]
    world.clock.now = message.due_at
    world.cluster.fail_with = ActuatorRetryable("API server unavailable")
    with pytest.raises(RetryableError):
        world.service.on_follow_up(message)
    world.cluster.fail_with = None
    handled = world.service.on_follow_up(message)
    assert handled is not None
    assert handled.report.outcome is Outcome.APPLIED
    assert world.cluster.changes == ["scale 2->4", "scale 4->6"]


class TestSpread:
    """Issue 9: replicas that share the hot node are raised, then moved, through the same safety path."""

    def colocated(self, **overrides: Any) -> World:
        return World(FakeCluster(pods={"node-0": 2}), **overrides)

    def test_raise_then_evict_once_the_new_replicas_are_ready(self) -> None:
        """Scale+spread: the raise and the durable constraint now, the eviction at the next check."""
        world = self.colocated()
        first = world.alert("node-0", rate=1976.0).report
        assert (first.action, first.outcome) == (ActionKind.SPREAD_COREDNS, Outcome.APPLIED)
        assert world.cluster.changes == ["scale 2->4", "durable spread"]
        assert "node node-0: 2 of 2 replicas, ~3000 pkt/s → after: 1 of 4, ~750 pkt/s" in first.reasons
        assert first.follow_up.startswith("spread pending (2 of 4 replicas Ready")
        assert world.out.follow_ups[-1][1] == 60
        second = world.follow_up().report  # inside the cooldown: finishing the same step is allowed
        assert (second.action, second.outcome) == (ActionKind.SPREAD_COREDNS, Outcome.APPLIED)
        assert world.cluster.changes[-1] == "evict from node-0"
        assert max(world.cluster.pods.values()) == 1
        assert second.follow_up == "verification in 300 s"
        history = world.service.history("prod")
        assert (history.steps, history.spread_pending) == (1, False)
        assert history.original_spread == {"owner": "deployment", "topologySpreadConstraints": None}
        assert history.original_coredns is not None

    def test_pdb_says_wait_and_the_next_check_retries(self) -> None:
        """An eviction refused by the PodDisruptionBudget is retried at the next check, never forced."""
        world = self.colocated()
        world.cluster.pdb_blocks = 1
        world.alert("node-0", rate=1976.0)
        blocked = world.follow_up().report
        assert "PodDisruptionBudget" in blocked.follow_up
        assert "evict from node-0" not in world.cluster.changes
        done = world.follow_up().report
        assert done.outcome is Outcome.APPLIED
        assert world.cluster.changes.count("evict from node-0") == 1

    def test_dry_run_names_the_pods_it_would_evict(self) -> None:
        world = self.colocated(coredns_mode=Mode.DRY_RUN, spread_mode=Mode.DRY_RUN)
        report = world.alert("node-0", rate=1976.0).report
        assert report.outcome is Outcome.DRY_RUN
        assert "dry-run (SPREAD_MODE=dry-run)" in report.reasons[0]
        assert "would evict kube-system/coredns-node-0-0 (on node-0)" in report.reasons[0]
        assert world.cluster.changes == []

    def test_spread_mode_off_changes_nothing(self) -> None:
        world = self.colocated(spread_mode=Mode.OFF)
        report = world.alert("node-0", rate=1976.0).report
        assert report.outcome is Outcome.SKIPPED
        assert "mode for spread_coredns is off" in report.reasons[0]
        assert world.cluster.changes == []

    def test_operator_revert_restores_the_spread_values(self) -> None:
        world = self.colocated()
        world.alert("node-0", rate=1976.0)
        handled = world.service.operator("prod", operator.revert_spread)
        assert handled is not None
        assert handled.report.action is ActionKind.REVERT_SPREAD
        assert world.cluster.constraints is None
        assert world.service.history("prod").original_spread is None


class TestBoundedEscalation:
    def run(self, world: World) -> list[Any]:
        world.alert("node-0", rate=1976.0)
        reports = []
        for _ in range(30):
            if world.service.history("prod").follow_up_id == "":
                break
            reports.append(world.follow_up().report)
        return reports

    def test_drops_that_never_stop_end_within_the_budget(self) -> None:
        """Each check takes the next step (spread, then NodeLocal DNSCache); the chain ends, bounded."""
        world = World(FakeCluster(pods={"node-0": 2}), cooldown_seconds=300, nodelocal_mode=Mode.ENFORCE)
        reports = self.run(world)
        assert [r.action for r in reports] == [
            ActionKind.SPREAD_COREDNS,  # finishing the first spread's eviction
            ActionKind.ENABLE_NODELOCAL,
            ActionKind.ESCALATE,
        ]
        assert reports[-1].follow_up == "escalated to on-call; no further automatic steps"
        assert world.cluster.replicas <= world.settings.coredns_max_replicas

    def test_step_budget_spent_gives_up_explicitly(self) -> None:
        """MAX_STEPS changes without the drops stopping: an explicit "gave up" report, no more checks."""
        world = World(FakeCluster(pods={"node-0": 2}), cooldown_seconds=300, max_steps=1)
        reports = self.run(world)
        last = reports[-1]
        assert (last.action, last.outcome) == (ActionKind.GIVE_UP, Outcome.APPLIED)
        assert "after 1 changes in this incident (MAX_STEPS=1)" in last.reasons[0]
        assert last.follow_up.startswith("gave up: no further automatic steps")
        assert world.service.history("prod").follow_up_id == ""


def test_a_spread_that_raises_honours_coredns_mode_too() -> None:
    """COREDNS_MODE=dry-run with SPREAD_MODE=enforce: the raise inside a spread is only previewed."""
    world = World(FakeCluster(pods={"node-0": 2}), coredns_mode=Mode.DRY_RUN)
    report = world.alert("node-0", rate=1976.0).report
    assert (report.action, report.outcome) == (ActionKind.SPREAD_COREDNS, Outcome.DRY_RUN)
    assert world.cluster.changes == []


def test_measured_forward_rates_feed_the_decision() -> None:
    """With CoreDNS's forward rates from Prometheus, the estimate uses them (here: more than the
    drops imply, so a larger step)."""
    world = World(FakeCluster(pods={"node-0": 1, "node-1": 1}))
    world.service._forwards = lambda _cluster: {"coredns-node-0-0": 3000.0, "coredns-node-1-0": 3000.0}
    report = world.alert("node-0", rate=40.0).report
    assert any("sends ~3000 pkt/s (measured)" in r for r in report.reasons)
