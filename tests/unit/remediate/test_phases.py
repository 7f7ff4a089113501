"""The stored phase through whole incidents: what each run reports to people follows its changes."""

from __future__ import annotations

from netguard.config.clusters import ClusterConfig
from netguard.enriched import ActionKind, Outcome, RemediationReport
from netguard.remediate.cluster import ClusterHandle
from netguard.remediate.incident import Phase
from tests.unit.remediate.fakes import FakeCluster
from tests.unit.remediate.test_service import World


class _Unreachable(FakeCluster):
    def connect(self, config: ClusterConfig, now: float) -> ClusterHandle:
        raise ConnectionError("apiserver down")


def _told(reports: list[RemediationReport]) -> list[RemediationReport]:
    return [r for r in reports if r.tell]


class TestPhasesThroughAnIncident:
    def test_drops_already_stopped_tell_nobody(self) -> None:
        """An alert group whose drops had stopped by the time it arrived (a fresh query shows none),
        then its resolve: nothing changes, no thread reply, no change event, and no "mode unknown"."""
        world = World(fresh=lambda _c, nodes: dict.fromkeys(nodes, 0.0))
        world.alert("node-0", event_id="m1")
        world.clock.advance(60)
        world.alert("node-0", event_id="m2", status="resolved")
        reports = world.out.reports
        assert len(reports) == 2  # every decision is still published and audited
        assert [(r.phase_before, r.phase) for r in reports] == [("idle", "idle"), ("idle", "idle")]
        assert [(r.tell, r.changed) for r in reports] == [(False, False), (False, False)]
        assert world.cluster.changes == []
        assert len(world.service.audit_records("prod")) == 2
        assert world.service.history("prod").phase is Phase.IDLE

    def test_full_incident_tells_once_per_phase_change(self) -> None:
        """Raise, verified, reverted: one told report per phase change, change events for the two
        changes only, and before -> after in words."""
        world = World(quiet_seconds_before_revert=600, cooldown_seconds=60, revert_coredns=True)
        world.alert("node-0", event_id="m1")
        world.clock.advance(100)
        world.alert("node-0", event_id="m2", status="resolved")
        for _ in range(10):  # follow the chain of checks until none is scheduled
            world.follow_up()
            if world.out.follow_ups[-1][0].due_at <= world.clock.now:
                break
        reports = world.out.reports
        phases = [(r.phase_before, r.phase) for r in reports]
        told = _told(reports)
        assert [(r.phase_before, r.phase) for r in told] == [
            ("idle", "verifying"),
            ("verifying", "reverting"),
            ("reverting", "closed"),
        ], phases
        assert [r.action for r in reports if r.changed] == [
            ActionKind.SCALE_COREDNS,
            ActionKind.REVERT_COREDNS,
        ]
        assert told[0].summary.startswith("CoreDNS 2 → 4 replicas")
        assert world.cluster.changes == ["scale 2->4", "restore 4->2"]
        assert world.service.history("prod").phase is Phase.CLOSED

    def test_checks_without_change_end_in_gave_up_told_once(self) -> None:
        """Unknown drops are re-checked without a reply each time; the check that spends the budget
        moves the incident to gave_up, and that one is told."""
        world = World(FakeCluster(), fresh=lambda _c, nodes: dict.fromkeys(nodes), max_verifications=3)
        world.alert("node-0", event_id="m1", status="resolved")
        for _ in range(5):
            if not world.follow_up().follow_up:
                break
        reports = world.out.reports
        assert reports[-1].phase == "gave_up"
        assert [r.phase for r in _told(reports)] == ["gave_up"]
        assert not any(r.changed for r in reports)
        assert world.service.history("prod").phase is Phase.GAVE_UP

    def test_unreadable_cluster_is_told_and_keeps_the_phase(self) -> None:
        """netguard cannot look: people hear of it, the phase stays, and nothing is a change event."""
        world = World(_Unreachable())
        handled = world.alert("node-0")
        report = handled.report
        assert (report.outcome, report.tell, report.changed) == (Outcome.FAILED, True, False)
        assert (report.phase_before, report.phase) == ("idle", "idle")
