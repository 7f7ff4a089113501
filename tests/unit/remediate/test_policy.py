"""The remediation policy, branch by branch (issue 6, item 2; packets per node, issue 9): pure inputs
in, one decision out. Tests of the step rule use unknown drop rates (rate=None): with a rate the
policy computes the smallest sufficient step instead (see TestPacketsPerNode)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netguard.dns import CoreDnsPod
from netguard.enriched import ActionKind
from netguard.remediate import (
    ClusterState,
    DisableNodeLocal,
    DropStatus,
    EnableNodeLocal,
    Escalate,
    GiveUp,
    History,
    NoAction,
    Observation,
    PolicySettings,
    RevertCoreDns,
    RevertSpread,
    ScaleCoreDns,
    SpreadCoreDns,
    decide,
)
from netguard.remediate.load import measured
from netguard.remediate.models import ActionRecord
from netguard.remediate.policy import finish_spread, revert_wanted

NOW = 1_800_000_000.0
SETTINGS = PolicySettings()


def state(**overrides: Any) -> ClusterState:
    values: dict[str, Any] = {
        "cluster": "prod",
        "now": NOW,
        "coredns_desired": 2,
        "coredns_ready": 2,
        "coredns_pods_by_node": {"a": 1, "b": 1},
        "replica_owner": "deployment",
        "replica_floor": 2,
        "nodelocal_enabled": False,
        "kube_proxy_mode": "iptables",
        "ready_nodes": 6,
    }
    values.update(overrides)
    return ClusterState(**values)


def obs(
    node: str,
    status: DropStatus = DropStatus.PERSISTING,
    rate: float | None = 40.0,
    bypass: tuple[str, ...] = (),
) -> Observation:
    return Observation(
        node=node, status=status, drop_rate=rate, since=NOW - 900, bypass_pods=bypass, evidence="test"
    )


def scaled(at: float, *, rate_before: float | None, after: int = 4) -> ActionRecord:
    return ActionRecord(
        action=ActionKind.SCALE_COREDNS,
        decision_id="d1",
        at=at,
        mode="enforce",
        applied=True,
        drop_rate_before=rate_before,
        replicas_before=2,
        replicas_after=after,
    )


class TestScaling:
    def test_drops_on_coredns_node_raise_by_one_step(self) -> None:
        """Persistent drops where CoreDNS runs raise replicas by the step, from the current count."""
        decision = decide(state(), [obs("a", rate=None)], History("prod"), SETTINGS)
        assert isinstance(decision, ScaleCoreDns)
        assert (decision.current, decision.target, decision.step) == (2, 4, 2)
        assert "raise CoreDNS from 2 to 4" in decision.reasons[0]
        assert "a (1 CoreDNS pod)" in decision.reasons[1]
        assert any("no drop rate is known" in r for r in decision.reasons)

    @pytest.mark.parametrize(
        ("current", "step", "maximum", "target"),
        [
            (2, 1, 10, 3),
            (9, 2, 10, 10),
            (3, 5, 4, 4),
            (1, 2, 10, 3),
        ],
    )
    def test_target_is_bounded_by_step_and_maximum(
        self, current: int, step: int, maximum: int, target: int
    ) -> None:
        """Never more than one step, never above the maximum."""
        decision = decide(
            state(coredns_desired=current, replica_floor=current),
            [obs("a", rate=None)],
            History("prod"),
            PolicySettings(step=step, max_replicas=maximum),
        )
        assert isinstance(decision, ScaleCoreDns)
        assert decision.target == target

    def test_autoscaler_floor_below_replicas_starts_from_replicas(self) -> None:
        """Under an autoscaler that already runs more than its floor, the raise starts from what runs."""
        decision = decide(
            state(
                coredns_desired=5,
                replica_floor=2,
                replica_owner="cluster-proportional-autoscaler",
                ready_nodes=10,
            ),
            [obs("a", rate=None)],
            History("prod"),
            SETTINGS,
        )
        assert isinstance(decision, ScaleCoreDns)
        assert (decision.current, decision.target) == (5, 7)

    def test_says_when_replicas_share_a_node(self) -> None:
        """Two replicas on one node share its interface; the reasons say so."""
        decision = decide(state(coredns_pods_by_node={"a": 2}), [obs("a")], History("prod"), SETTINGS)
        assert isinstance(decision, ScaleCoreDns)
        assert any("only 1 distinct nodes" in r and "a (2)" in r for r in decision.reasons)

    def test_aims_at_distinct_nodes(self) -> None:
        """With fewer free nodes than the step, the target stops at one replica per node."""
        decision = decide(state(ready_nodes=3), [obs("a")], History("prod"), SETTINGS)
        assert isinstance(decision, ScaleCoreDns)
        assert decision.target == 3

    def test_says_when_target_exceeds_nodes(self) -> None:
        """More replicas than ready nodes must share nodes; the reasons say so."""
        snapshot = state(
            coredns_desired=3, replica_floor=3, coredns_pods_by_node={"a": 2, "b": 1}, ready_nodes=3
        )
        decision = decide(snapshot, [obs("a", rate=None)], History("prod"), SETTINGS)
        assert isinstance(decision, ScaleCoreDns)
        assert decision.target == 5
        assert any("only 3 ready nodes" in r for r in decision.reasons)

    def test_coredns_on_every_node_goes_to_nodelocal(self) -> None:
        """When every ready node already runs CoreDNS, more replicas add no interface: NodeLocal DNSCache."""
        decision = decide(state(ready_nodes=2), [obs("a")], History("prod"), SETTINGS)
        assert isinstance(decision, EnableNodeLocal)
        assert "already runs on all 2 ready nodes" in decision.reasons[0]

    def test_unknown_node_is_not_scaled_for(self) -> None:
        """An alert that enrichment could not resolve to a node changes nothing and says why."""
        decision = decide(
            state(node_names=frozenset({"a", "b", "c"})), [obs("10.0.0.9:9100")], History("prod"), SETTINGS
        )
        assert isinstance(decision, NoAction)
        assert "not a node of this cluster" in decision.reasons[1]

    def test_with_nodelocal_enabled_scaling_continues_below_max(self) -> None:
        decision = decide(state(nodelocal_enabled=True), [obs("a")], History("prod"), SETTINGS)
        assert isinstance(decision, ScaleCoreDns)


HOT = "ip-10-0-1-23"
FOUR = frozenset({HOT, "ip-10-0-1-40", "ip-10-0-2-11", "ip-10-0-3-7"})


def placed(pods: Mapping[str, int], nodes: frozenset[str] = FOUR, **overrides: Any) -> ClusterState:
    total = sum(pods.values())
    return state(
        coredns_desired=total,
        coredns_ready=total,
        replica_floor=total,
        coredns_pods_by_node=dict(pods),
        coredns_ready_by_node=dict(pods),
        ready_nodes=len(nodes),
        schedulable_nodes=nodes,
        **overrides,
    )


class TestPacketsPerNode:
    """Issue 9: the decision comes from estimated link-local packets/s per node after each candidate."""

    def test_colocated_pair_scales_and_spreads_with_the_arithmetic(self) -> None:
        """Both replicas on the hot node at 3000 pkt/s: raising alone leaves it at 1500, so scale+spread."""
        decision = decide(placed({HOT: 2}), [obs(HOT, rate=1976.0)], History("prod"), SETTINGS)
        assert isinstance(decision, SpreadCoreDns)
        assert (decision.current, decision.target, dict(decision.evict)) == (2, 4, {HOT: 1})
        assert f"node {HOT}: 2 of 2 replicas, ~3000 pkt/s → after: 1 of 4, ~750 pkt/s" in decision.reasons
        assert any("estimated DNS load ~3000 pkt/s" in r for r in decision.reasons)
        assert "under 819 pkt/s (80% of the 1024 pkt/s" in decision.reasons[0]

    def test_spread_pair_takes_the_smallest_sufficient_raise(self) -> None:
        """One replica per node: the smallest raise that gets the hot node under the goal, no eviction."""
        decision = decide(
            placed({HOT: 1, "ip-10-0-2-11": 1}), [obs(HOT, rate=500.0)], History("prod"), SETTINGS
        )
        assert isinstance(decision, ScaleCoreDns)
        assert (decision.current, decision.target) == (2, 4)  # 3 would leave ~1016 pkt/s per node
        assert f"node {HOT}: 1 of 2 replicas, ~1524 pkt/s → after: 1 of 4, ~762 pkt/s" in decision.reasons

    def test_one_replica_more_when_that_is_enough(self) -> None:
        decision = decide(
            placed({HOT: 1, "ip-10-0-2-11": 1}), [obs(HOT, rate=40.0)], History("prod"), SETTINGS
        )
        assert isinstance(decision, ScaleCoreDns)
        assert decision.target == 3

    def test_spread_alone_when_moving_is_enough_and_raising_is_not(self) -> None:
        """Within a step of 1, a raise leaves the shared node over the goal; moving one replica does not."""
        decision = decide(
            placed({HOT: 2, "ip-10-0-2-11": 1}),
            [obs(HOT, rate=200.0)],
            History("prod"),
            PolicySettings(step=1),
        )
        assert isinstance(decision, SpreadCoreDns)
        assert (decision.target, dict(decision.evict), decision.per_node) == (3, {HOT: 1}, 1)
        assert decision.reasons[0].startswith("spread CoreDNS")

    def test_load_no_count_within_max_absorbs_goes_to_nodelocal(self) -> None:
        """Heavy load: even the maximum spread leaves nodes over the goal, so NodeLocal DNSCache."""
        decision = decide(placed({HOT: 2}), [obs(HOT, rate=9000.0)], History("prod"), SETTINGS)
        assert isinstance(decision, EnableNodeLocal)
        assert "no replica count within the maximum of 10" in decision.reasons[0]

    def test_reachable_beyond_one_step_takes_a_step_towards_it(self) -> None:
        """The goal needs more than one step: take one and say how many are left."""
        nodes = frozenset({HOT, *(f"n{i}" for i in range(9))})
        decision = decide(
            placed({HOT: 1, "n0": 1}, nodes=nodes), [obs(HOT, rate=2000.0)], History("prod"), SETTINGS
        )
        assert isinstance(decision, ScaleCoreDns)
        assert decision.target == 4
        assert "no single step reaches the goal" in decision.reasons[0]
        assert "step 1 of ~3" in decision.reasons[0]

    @pytest.mark.parametrize(("headroom", "target"), [(0.8, 4), (1.0, 3)])
    def test_headroom_sets_the_goal(self, headroom: float, target: int) -> None:
        decision = decide(
            placed({HOT: 1, "ip-10-0-2-11": 1}),
            [obs(HOT, rate=400.0)],
            History("prod"),
            PolicySettings(headroom=headroom),
        )
        assert isinstance(decision, ScaleCoreDns)
        assert decision.target == target

    def test_measured_packets_win_over_the_drop_estimate(self) -> None:
        """A measured packet rate replaces allowance + drops (which is only a lower bound)."""
        measured = replace(obs(HOT, rate=10.0), linklocal_pps=3000.0)
        decision = decide(placed({HOT: 2}), [measured], History("prod"), SETTINGS)
        assert isinstance(decision, SpreadCoreDns)
        assert any("sends ~3000 pkt/s (measured)" in r for r in decision.reasons)

    def test_not_ready_replicas_carry_no_load(self) -> None:
        """Only Ready replicas take queries: a node with 2 pods, 1 Ready, carries one share."""
        snapshot = replace(
            placed({HOT: 2, "ip-10-0-2-11": 1}), coredns_ready_by_node={HOT: 1, "ip-10-0-2-11": 1}
        )
        decision = decide(snapshot, [obs(HOT, rate=476.0)], History("prod"), SETTINGS)
        assert any("with 1 of 2 Ready CoreDNS replicas" in r for r in decision.reasons)

    def test_step_budget_spent_gives_up(self) -> None:
        """After MAX_STEPS changes in one incident the policy stops and says why."""
        decision = decide(placed({HOT: 2}), [obs(HOT, rate=1976.0)], History("prod", steps=4), SETTINGS)
        assert isinstance(decision, GiveUp)
        assert "after 4 changes in this incident (MAX_STEPS=4)" in decision.reasons[0]


class TestMeasured:
    PODS = (
        CoreDnsPod("c1", HOT, ready=True, phase="Running"),
        CoreDnsPod("c2", HOT, ready=True, phase="Running"),
        CoreDnsPod("c3", "ip-10-0-2-11", ready=True, phase="Running"),
    )

    def test_forward_rates_sum_per_node(self) -> None:
        """A node's packets/s is the sum of its CoreDNS pods' forward rates, when every pod has one."""
        found = measured([obs(HOT), obs("ip-10-0-2-11")], self.PODS, {"c1": 1500.0, "c2": 1400.0})
        assert [o.linklocal_pps for o in found] == [2900.0, None]

    def test_measured_rate_below_the_drop_floor_does_not_lower_it(self) -> None:
        """Drops mean at least allowance + drops left the node; a lower measurement is not believed."""
        snapshot = placed({HOT: 2})
        low = replace(obs(HOT, rate=1976.0), linklocal_pps=100.0)
        decision = decide(snapshot, [low], History("prod"), SETTINGS)
        assert any("~3000 pkt/s" in r for r in decision.reasons)


class TestFinishSpread:
    def test_pending_spread_moves_what_still_shares_a_node(self) -> None:
        """The follow-up of a pending spread works from the placement, not from stale drop rates."""
        decision = finish_spread(
            placed({HOT: 2, "ip-10-0-2-11": 1, "ip-10-0-3-7": 1}), History("prod"), SETTINGS
        )
        assert isinstance(decision, SpreadCoreDns)
        assert (dict(decision.evict), decision.per_node, decision.target) == ({HOT: 1}, 1, 4)

    def test_nothing_left_to_move_ends_it(self) -> None:
        decision = finish_spread(placed({HOT: 1, "ip-10-0-2-11": 1}), History("prod"), SETTINGS)
        assert isinstance(decision, NoAction)
        assert "finished" in decision.reasons[0]


class TestNodeLocal:
    def test_at_maximum_enables_nodelocal(self) -> None:
        """CoreDNS at its maximum with drops persisting: NodeLocal DNSCache (iptables mode)."""
        decision = decide(state(coredns_desired=10, replica_floor=10), [obs("a")], History("prod"), SETTINGS)
        assert isinstance(decision, EnableNodeLocal)
        assert "maximum of 10" in decision.reasons[0]

    def test_scaling_that_did_not_help_enables_nodelocal_after_window(self) -> None:
        """After the verification window, drops not reduced by the raise: NodeLocal DNSCache."""
        history = History("prod", last_scale=scaled(NOW - 400, rate_before=30.0))
        decision = decide(state(), [obs("a", rate=40.0)], history, SETTINGS)
        assert isinstance(decision, EnableNodeLocal)
        assert "did not reduce the drops (30.0/s before, 40.0/s 400 s later)" in decision.reasons[0]

    def test_within_window_scaling_continues(self) -> None:
        history = History("prod", last_scale=scaled(NOW - 100, rate_before=30.0))
        assert isinstance(decide(state(), [obs("a", rate=40.0)], history, SETTINGS), ScaleCoreDns)

    def test_scaling_that_reduced_drops_scales_again(self) -> None:
        history = History("prod", last_scale=scaled(NOW - 400, rate_before=80.0))
        assert isinstance(decide(state(), [obs("a", rate=40.0)], history, SETTINGS), ScaleCoreDns)

    def test_unknown_rates_do_not_count_as_ineffective(self) -> None:
        """Without rates the cheaper, reversible step (scaling) continues."""
        history = History("prod", last_scale=scaled(NOW - 400, rate_before=None))
        assert isinstance(decide(state(), [obs("a", rate=None)], history, SETTINGS), ScaleCoreDns)

    @pytest.mark.parametrize("mode", ["ipvs", "", "nftables"])
    def test_not_iptables_refuses_with_reason(self, mode: str) -> None:
        """NodeLocal DNSCache only with kube-proxy in iptables mode; otherwise refuse and explain."""
        decision = decide(
            state(coredns_desired=10, replica_floor=10, kube_proxy_mode=mode),
            [obs("a")],
            History("prod"),
            SETTINGS,
        )
        assert isinstance(decision, Escalate)
        assert decision.refused is ActionKind.ENABLE_NODELOCAL
        assert "refusing NodeLocal DNSCache" in decision.reasons[0]
        assert (mode or "an unknown mode") in decision.reasons[0]

    def test_at_max_with_nodelocal_escalates(self) -> None:
        decision = decide(
            state(coredns_desired=10, replica_floor=10, nodelocal_enabled=True),
            [obs("a")],
            History("prod"),
            SETTINGS,
        )
        assert isinstance(decision, Escalate)
        assert decision.refused is None

    def test_everywhere_with_nodelocal_escalates(self) -> None:
        decision = decide(state(ready_nodes=2, nodelocal_enabled=True), [obs("a")], History("prod"), SETTINGS)
        assert isinstance(decision, Escalate)
        assert "on all 2 ready nodes" in decision.reasons[0]

    def test_too_many_verifications_give_up(self) -> None:
        """The check budget spent: an explicit "gave up" decision (issue 9 made it its own type)."""
        decision = decide(state(), [obs("a")], History("prod", verification_attempts=6), SETTINGS)
        assert isinstance(decision, GiveUp)
        assert decision.reasons[0].startswith("gave up: drops persist after 6 verification checks")


class TestNodesWithoutCoreDns:
    def test_no_scaling_and_names_bypass_pods(self) -> None:
        """Drops only where CoreDNS does not run: no DNS scaling, a diagnosis naming the bypass pods."""
        decision = decide(
            state(),
            [obs("c", bypass=("kube-system/aws-node-x", "default/hostnet"))],
            History("prod"),
            SETTINGS,
        )
        assert isinstance(decision, NoAction)
        assert decision.reasons[0].startswith("no DNS scaling")
        assert "kube-system/aws-node-x, default/hostnet" in decision.reasons[1]

    def test_without_known_bypass_pods_says_so(self) -> None:
        decision = decide(state(), [obs("c")], History("prod"), SETTINGS)
        assert "no pod known to bypass cluster DNS" in decision.reasons[1]

    def test_mixed_nodes_scale_and_carry_the_diagnosis(self) -> None:
        decision = decide(state(), [obs("a"), obs("c", bypass=("ns/p",))], History("prod"), SETTINGS)
        assert isinstance(decision, ScaleCoreDns)
        assert any("ns/p" in r for r in decision.reasons)


class TestGateStatuses:
    @pytest.mark.parametrize(
        ("status", "words"),
        [
            (DropStatus.TRANSIENT, "not yet lasted the persistence gate"),
            (DropStatus.UNKNOWN, "missing data is not taken as recovery"),
        ],
    )
    def test_not_persisting_means_no_action(self, status: DropStatus, words: str) -> None:
        decision = decide(state(), [obs("a", status)], History("prod"), SETTINGS)
        assert isinstance(decision, NoAction)
        assert words in decision.reasons[0]

    def test_unknown_is_not_recovery_even_with_revert_on(self) -> None:
        """Unknown never leads to a revert, however long ago the last change was."""
        history = History("prod", original_coredns={"replicas": 2}, resolved_at=NOW - 99999)
        decision = decide(
            state(),
            [obs("a", DropStatus.UNKNOWN)],
            history,
            PolicySettings(revert_coredns=True, quiet_seconds_before_revert=60),
        )
        assert isinstance(decision, NoAction)


class TestRevert:
    ORIGINAL: Mapping[str, Any] = {"owner": "deployment", "replicas": 2}

    def quiet(self, seconds: float, **history: Any) -> History:
        return History("prod", resolved_at=NOW - seconds, **history)

    def test_nothing_changed_nothing_to_revert(self) -> None:
        decision = decide(state(), [obs("a", DropStatus.RECOVERED)], History("prod"), SETTINGS)
        assert isinstance(decision, NoAction)
        assert "nothing to revert" in decision.reasons[0]

    def test_coredns_revert_off_by_default(self) -> None:
        """Off by default for the CoreDNS floor: resolved and quiet, the raise stays."""
        decision = decide(
            state(),
            [obs("a", DropStatus.RECOVERED)],
            self.quiet(99999, original_coredns=self.ORIGINAL),
            SETTINGS,
        )
        assert isinstance(decision, NoAction)

    def test_coredns_revert_after_quiet_period_when_on(self) -> None:
        settings = PolicySettings(revert_coredns=True, quiet_seconds_before_revert=3600)
        history = self.quiet(3600, original_coredns=self.ORIGINAL)
        decision = decide(state(), [obs("a", DropStatus.RECOVERED)], history, settings)
        assert isinstance(decision, RevertCoreDns)
        assert decision.original == self.ORIGINAL

    def test_not_before_quiet_period(self) -> None:
        settings = PolicySettings(revert_coredns=True, quiet_seconds_before_revert=3600)
        decision = decide(
            state(),
            [obs("a", DropStatus.RECOVERED)],
            self.quiet(100, original_coredns=self.ORIGINAL),
            settings,
        )
        assert isinstance(decision, NoAction)
        assert "considered after 3600 s" in decision.reasons[0]

    def test_nodelocal_revert_configurable_and_first(self) -> None:
        settings = PolicySettings(revert_coredns=True, revert_nodelocal=True, quiet_seconds_before_revert=10)
        history = self.quiet(20, original_coredns=self.ORIGINAL, nodelocal_enabled_by_netguard=True)
        decision = decide(state(nodelocal_enabled=True), [], history, settings)
        assert isinstance(decision, DisableNodeLocal)

    def test_spread_values_revert_before_the_floor(self) -> None:
        """With REVERT_COREDNS, the recorded spread values go back first, then (next check) the floor."""
        settings = PolicySettings(revert_coredns=True, quiet_seconds_before_revert=10)
        spread_before = {"owner": "deployment", "topologySpreadConstraints": None}
        history = self.quiet(20, original_coredns=self.ORIGINAL, original_spread=spread_before)
        decision = decide(state(), [obs("a", DropStatus.RECOVERED)], history, settings)
        assert isinstance(decision, RevertSpread)
        assert decision.original == spread_before
        assert "the CoreDNS spread and the CoreDNS floor" in revert_wanted(history, settings)

    def test_nodelocal_not_enabled_by_netguard_is_left(self) -> None:
        settings = PolicySettings(revert_nodelocal=True, quiet_seconds_before_revert=10)
        decision = decide(state(nodelocal_enabled=True), [], self.quiet(20), settings)
        assert isinstance(decision, NoAction)


@given(
    current=st.integers(min_value=1, max_value=30),
    step=st.integers(min_value=1, max_value=5),
    maximum=st.integers(min_value=1, max_value=30),
    shared=st.integers(min_value=1, max_value=4),
    proxy=st.sampled_from(["iptables", "ipvs", ""]),
    nodelocal=st.booleans(),
    rate=st.one_of(st.none(), st.floats(min_value=0.0, max_value=50_000.0)),
)
def test_never_above_maximum_never_more_than_one_step(  # noqa: PLR0917 - one argument per strategy
    current: int, step: int, maximum: int, shared: int, proxy: str, nodelocal: bool, rate: float | None
) -> None:
    """Whatever the state, a scale decision moves up by at most one step and never past the maximum."""
    snapshot = state(
        coredns_desired=current,
        replica_floor=current,
        coredns_pods_by_node={"a": shared},
        kube_proxy_mode=proxy,
        nodelocal_enabled=nodelocal,
    )
    decision = decide(
        snapshot, [obs("a", rate=rate)], History("prod"), PolicySettings(step=step, max_replicas=maximum)
    )
    if isinstance(decision, ScaleCoreDns):
        assert current < decision.target <= min(current + step, maximum)
    elif isinstance(decision, SpreadCoreDns):
        assert decision.target == current or current < decision.target <= min(current + step, maximum)
        assert sum(decision.evict.values()) >= 1
    elif rate is None:
        assert current >= maximum
    if isinstance(decision, EnableNodeLocal):
        assert proxy == "iptables"
    assert decision.reasons


def test_history_replace_is_frozen() -> None:
    """History is immutable data: updates produce new values."""
    history = History("prod")
    assert replace(history, verification_attempts=1).verification_attempts == 1
    assert history.verification_attempts == 0
