"""Safety: kill switch, modes, cooldown, the conditional-write lock, history and audit (MemoryStore)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from netguard.config.remediate import Mode
from netguard.enriched import ActionKind, Outcome, RemediationReport
from netguard.remediate.audit import AuditLog
from netguard.remediate.errors import LockBusy
from netguard.remediate.killswitch import KillSwitch, parse_kill_switch
from netguard.remediate.models import (
    ActionRecord,
    EnableNodeLocal,
    Escalate,
    History,
    NoAction,
    NodeMemory,
    ScaleCoreDns,
)
from netguard.remediate.safety import check, mode_for
from netguard.remediate.store import ClusterLock, HistoryStore
from netguard.state import MemoryStore

NOW = 1_800_000_000.0
SCALE = ScaleCoreDns(current=2, target=4, step=2, reasons=("raise",))


class FakeSsm:
    def __init__(self, value: str | None = None, error: str | None = None) -> None:
        self.value = value
        self.error = error
        self.puts: list[dict[str, Any]] = []

    def get_parameter(self, Name: str, **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's spelling
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "x"}}, "GetParameter")
        if self.value is None:
            raise ClientError({"Error": {"Code": "ParameterNotFound", "Message": "x"}}, "GetParameter")
        return {"Parameter": {"Value": self.value}}

    def put_parameter(self, **kwargs: Any) -> None:
        self.puts.append(kwargs)
        self.value = kwargs["Value"]


KNOWN = ("prod", "staging")


class TestKillSwitch:
    @pytest.mark.parametrize(
        ("value", "all_", "clusters"),
        [
            ("", False, set()),
            ("off", False, set()),
            ("on", True, set()),
            ("PAUSED", True, set()),
            ("prod, staging", False, {"prod", "staging"}),
            ("prod", False, {"prod"}),
            ('{"all": false, "clusters": ["prod"]}', False, {"prod"}),
            ('{"all": true}', True, set()),
            ('{"clusters": []}', False, set()),
        ],
    )
    def test_documented_forms(self, value: str, all_: bool, clusters: set[str]) -> None:
        parsed = parse_kill_switch(value, KNOWN)
        assert (parsed.paused_all, set(parsed.clusters), parsed.problem) == (all_, clusters, "")

    @pytest.mark.parametrize(
        ("value", "why"),
        [
            ("{not json", "not valid JSON"),
            ('{"clusters": "prod"}', '"clusters" must be a list'),
            ('{"cluster": ["prod"]}', "unknown keys ['cluster']"),
            ('{"all": "false"}', '"all" must be true or false'),
            ('{"all": 0}', '"all" must be true or false'),
            ('{"clusters": ["prod", 7]}', '"clusters" must be a list'),
            ('["prod"]', "not configured"),
            ('"prod"', "not configured"),
            ("prod, nope", "not configured: ['nope']"),
            ('{"clusters": ["Prod"]}', "not configured: ['Prod']"),
            ("maybe", "not configured"),
        ],
    )
    def test_anything_else_pauses_everything(self, value: str, why: str) -> None:
        """Values that parse but mean something else fail closed: every cluster paused, and why."""
        parsed = parse_kill_switch(value, KNOWN)
        assert parsed.paused_all
        assert why in parsed.problem
        state = KillSwitch(FakeSsm(value), "/k", clusters=KNOWN).read("staging")
        assert state.engaged
        assert why in state.reason
        assert "all clusters paused until it is fixed" in state.reason

    def test_missing_parameter_pauses_nothing(self) -> None:
        assert not KillSwitch(FakeSsm(None), "/k", clusters=KNOWN).read("prod").engaged

    def test_unreadable_parameter_fails_closed(self) -> None:
        state = KillSwitch(FakeSsm(error="AccessDeniedException"), "/k", clusters=KNOWN).read("prod")
        assert state.engaged
        assert "could not be read (AccessDeniedException)" in state.reason

    def test_per_cluster(self) -> None:
        switch = KillSwitch(FakeSsm('{"all": false, "clusters": ["prod"]}'), "/k", clusters=KNOWN)
        assert switch.read("prod").engaged
        assert not switch.read("staging").engaged

    def test_read_every_time(self) -> None:
        """No caching: a change to the parameter applies to the very next read (no redeploy)."""
        ssm = FakeSsm("off")
        switch = KillSwitch(ssm, "/k", clusters=KNOWN)
        assert not switch.read("prod").engaged
        ssm.value = "on"
        assert switch.read("prod").engaged

    def test_pause_and_resume(self) -> None:
        ssm = FakeSsm(None)
        switch = KillSwitch(ssm, "/k", clusters=KNOWN)
        assert switch.set("prod", paused=True) == {"all": False, "clusters": ["prod"]}
        assert switch.set("staging", paused=True) == {"all": False, "clusters": ["prod", "staging"]}
        assert switch.set("prod", paused=False) == {"all": False, "clusters": ["staging"]}
        assert switch.set(None, paused=True)["all"] is True
        assert switch.set(None, paused=False) == {"all": False, "clusters": []}
        assert ssm.puts[-1]["Overwrite"] is True

    def test_set_refuses_unknown_and_keeps_a_bad_value_paused(self) -> None:
        """Pausing a cluster that is not configured is refused; a value that cannot be trusted stays
        "all paused" until all clusters are resumed."""
        ssm = FakeSsm('{"clusters": "prod"}')
        switch = KillSwitch(ssm, "/k", clusters=KNOWN)
        with pytest.raises(ValueError, match="not configured"):
            switch.set("nope", paused=True)
        assert switch.set("prod", paused=False)["all"] is True
        assert switch.set(None, paused=False) == {"all": False, "clusters": []}


class TestVerdict:
    def test_modes_per_action(self) -> None:
        assert mode_for(ActionKind.SCALE_COREDNS, coredns=Mode.ENFORCE, nodelocal=Mode.OFF) is Mode.ENFORCE
        assert mode_for(ActionKind.REVERT_COREDNS, coredns=Mode.OFF, nodelocal=Mode.ENFORCE) is Mode.OFF
        assert mode_for(ActionKind.ENABLE_NODELOCAL, coredns=Mode.OFF, nodelocal=Mode.DRY_RUN) is Mode.DRY_RUN
        assert mode_for(ActionKind.ESCALATE, coredns=Mode.OFF, nodelocal=Mode.OFF) is None

    @pytest.mark.parametrize(
        ("mode", "act", "dry_run", "outcome"),
        [
            (Mode.ENFORCE, True, False, None),
            (Mode.DRY_RUN, True, True, None),
            (Mode.OFF, False, False, Outcome.SKIPPED),
        ],
    )
    def test_mode(self, mode: Mode, act: bool, dry_run: bool, outcome: Outcome | None) -> None:
        verdict = check(SCALE, mode=mode, history=History("prod"), now=NOW)
        assert (verdict.act, verdict.dry_run, verdict.outcome, verdict.mode) == (
            act,
            dry_run,
            outcome,
            mode.value,
        )

    def test_cooldown_blocks_changes_only(self) -> None:
        last = ActionRecord(ActionKind.SCALE_COREDNS, "d0", NOW - 10, "enforce", True)
        history = History("prod", cooldown_until=NOW + 590, last_action=last)
        verdict = check(SCALE, mode=Mode.ENFORCE, history=history, now=NOW)
        assert not verdict.act
        assert verdict.outcome is Outcome.SKIPPED
        assert "cooldown after scale_coredns (d0)" in verdict.reason
        assert "590 s left" in verdict.reason
        assert not check(Escalate(("x",)), mode=None, history=history, now=NOW).outcome
        assert check(SCALE, mode=Mode.ENFORCE, history=history, now=NOW, ignore_cooldown=True).act
        assert check(SCALE, mode=Mode.ENFORCE, history=history, now=NOW + 591).act

    def test_no_action_never_acts(self) -> None:
        verdict = check(NoAction(("x",)), mode=None, history=History("prod"), now=NOW)
        assert not verdict.act
        assert verdict.outcome is None
        assert check(EnableNodeLocal(("x",)), mode=Mode.DRY_RUN, history=History("prod"), now=NOW).dry_run


class TestLock:
    def test_exactly_one_holder_among_twenty(self) -> None:
        """20 threads race for the lock; at any moment at most one holds it, and all get it in turn."""
        store = MemoryStore()
        inside = 0
        peak = 0
        guard = threading.Lock()

        def work(i: int) -> None:
            nonlocal inside, peak
            with ClusterLock(store, "prod", owner=f"t{i}", wait_seconds=30, poll_seconds=0.001):
                with guard:
                    inside += 1
                    peak = max(peak, inside)
                time.sleep(0.002)
                with guard:
                    inside -= 1

        with ThreadPoolExecutor(20) as pool:
            list(pool.map(work, range(20)))
        assert peak == 1
        assert store.get(pk="cluster#prod", sk="lock") is None

    def test_busy_lock_raises_retryable_after_wait(self) -> None:
        store = MemoryStore()
        store.create(pk="cluster#prod", sk="lock", data={"owner": "other"}, ttl_seconds=300)
        ticks = iter(range(100))
        lock = ClusterLock(
            store, "prod", owner="me", wait_seconds=3, clock=lambda: float(next(ticks)), sleep=lambda _s: None
        )
        with pytest.raises(LockBusy, match="held by other"):
            lock.acquire()

    def test_expired_lease_is_taken_over(self) -> None:
        clock = [NOW]
        store = MemoryStore(clock=lambda: clock[0])
        store.create(pk="cluster#prod", sk="lock", data={"owner": "crashed"}, ttl_seconds=300)
        clock[0] += 301
        with ClusterLock(store, "prod", owner="me", wait_seconds=0):
            lock = store.get(pk="cluster#prod", sk="lock")
            assert lock is not None
            assert lock.data["owner"] == "me"


class TestHistoryAndAudit:
    def test_history_round_trip_with_versions(self) -> None:
        histories = HistoryStore(MemoryStore())
        history = History(
            "prod",
            last_action=ActionRecord(ActionKind.SCALE_COREDNS, "d1", NOW, "enforce", True, 12.5, 2, 4),
            last_scale=ActionRecord(ActionKind.SCALE_COREDNS, "d1", NOW, "enforce", True, 12.5, 2, 4),
            cooldown_until=NOW + 600,
            original_coredns={"owner": "deployment", "replicas": 2},
            nodelocal_enabled_by_netguard=True,
            verification_attempts=2,
            resolved_at=NOW,
            group_id="g",
            alertname="A",
            nodes={"a": NodeMemory(True, NOW - 5, NOW, 3.0, "10.0.0.1:9100", ("ns/p",))},
            follow_up_id="f",
            follow_up_due=NOW + 300,
        )
        saved = histories.save(history)
        assert saved.version == 1
        loaded = histories.load("prod")
        assert loaded == saved
        assert {**loaded.__dict__, "version": 0} == {**history.__dict__, "version": 0}
        assert histories.save(loaded).version == 2

    def test_audit_record_in_store_and_log(self) -> None:
        store = MemoryStore()
        lines: list[dict[str, Any]] = []

        class Log:
            def info(self, msg: str, extra: dict[str, Any]) -> None:
                lines.append(extra)

        audit = AuditLog(store, logger=Log())
        report = RemediationReport(
            decision_id="d1",
            cluster="prod",
            action=ActionKind.SCALE_COREDNS,
            outcome=Outcome.APPLIED,
            mode="enforce",
            reasons=("why",),
            before={"replicas": 2},
            after={"replicas": 4},
            at="2027-01-15T08:00:00.000Z",
        )
        audit.record(report, source="alert")
        record = audit.recent("prod")[0]
        assert record["action"] == "scale_coredns"
        assert (record["before"], record["after"], record["mode"]) == (
            {"replicas": 2},
            {"replicas": 4},
            "enforce",
        )
        assert lines[0]["audit"]["reasons"] == ["why"]
