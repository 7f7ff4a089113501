"""Upgrading to owner-prefixed partitions: remediation state written before still counts.

The previous release wrote the same logical keys as the partition key itself; today's service over the
bare table writes exactly those items. The upgraded service runs over `OwnedStore`, as the handler
builds it.
"""

from __future__ import annotations

from typing import Any

import pytest

from netguard.enriched import Outcome
from netguard.remediate.errors import LockBusy
from netguard.remediate.service import RemediationService
from netguard.remediate.store import ClusterLock
from netguard.state import MemoryStore, OwnedStore, Owner, StateStore
from tests.unit.remediate.fakes import (
    Clock,
    FakeCluster,
    FakeKillSwitch,
    Recorder,
    event,
    linklocal_alert,
    settings,
)


class Release:
    """One release of the remediation service over a shared table and cluster."""

    def __init__(self, store: StateStore, cluster: FakeCluster, clock: Clock) -> None:
        self.clock = clock
        self.out = Recorder()
        self.service = RemediationService(
            settings(),
            store=store,
            publisher=self.out,
            followups=self.out,
            kill_switch=FakeKillSwitch(),  # type: ignore[arg-type]  # a stand-in: KillSwitch has no protocol
            connect=cluster.connect,
            clock=clock,
        )

    def alert(self, event_id: str) -> Any:
        alerts = [linklocal_alert("node-0", started=self.clock.now - 600)]
        return self.service.on_event(event(*alerts, event_id=event_id))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def table(clock: Clock) -> MemoryStore:
    return MemoryStore(clock=clock)


def _upgraded(table: MemoryStore, *, legacy: bool = True) -> OwnedStore:
    return OwnedStore.of(table, Owner.REMEDIATE, read_legacy=legacy)


def test_cooldown_and_history_from_before_the_upgrade_still_hold(table: MemoryStore, clock: Clock) -> None:
    cluster = FakeCluster()
    Release(table, cluster, clock).alert("m1")
    assert cluster.changes == ["scale 2->4"]
    assert table.get(pk="cluster#prod", sk="remediation") is not None

    clock.advance(100)
    upgraded = Release(_upgraded(table), cluster, clock)
    redelivered = upgraded.alert("m1")
    inside_cooldown = upgraded.alert("m2")

    assert cluster.changes == ["scale 2->4"]
    assert redelivered is None  # the previous release's idempotency record: a duplicate
    assert len(upgraded.out.reports) == 1
    assert inside_cooldown.report.outcome is Outcome.SKIPPED
    assert "cooldown after scale_coredns" in inside_cooldown.report.reasons[0]
    history = upgraded.service.history("prod")
    assert history.original_coredns == {"owner": "deployment", "floor": 2, "replicas": 2}
    moved = table.get(pk="remediate#cluster#prod", sk="remediation")
    assert moved is not None


def test_without_legacy_reads_the_cooldown_is_forgotten(table: MemoryStore, clock: Clock) -> None:
    """What the fallback is for: turned off, the upgraded release knows neither the cooldown nor the
    original it would revert to."""
    cluster = FakeCluster()
    Release(table, cluster, clock).alert("m1")
    clock.advance(100)
    upgraded = Release(_upgraded(table, legacy=False), cluster, clock)
    handled = upgraded.alert("m2")
    assert not any("cooldown" in reason for reason in handled.report.reasons), handled.report.reasons
    assert upgraded.service.history("prod").original_coredns != {
        "owner": "deployment",
        "floor": 2,
        "replicas": 2,
    }


def test_a_lock_held_by_the_previous_release_still_excludes(table: MemoryStore) -> None:
    held = ClusterLock(table, "prod", owner="previous release")
    held.acquire()
    waiting = ClusterLock(_upgraded(table), "prod", owner="upgraded", wait_seconds=0, sleep=lambda _: None)
    with pytest.raises(LockBusy, match="previous release"):
        waiting.acquire()
    held.release()
    waiting.acquire()
    waiting.release()
