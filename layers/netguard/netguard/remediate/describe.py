"""Before -> after in words, for people: what a run changed (or would have), never raw data.

Pure; called by `service.RemediationService` when it builds a report. The report's `before`/`after`
mappings stay for the audit trail and the CLI; Slack and PagerDuty show these words.
"""

from __future__ import annotations

from collections.abc import Sequence

from netguard.remediate.incident import Event, Phase
from netguard.remediate.models import (
    ClusterState,
    Decision,
    DisableNodeLocal,
    DropStatus,
    EnableNodeLocal,
    History,
    Observation,
    RevertCoreDns,
    RevertSpread,
    ScaleCoreDns,
    SpreadCoreDns,
)

PHASE_WORDS = {
    Phase.IDLE: "no incident",
    Phase.WATCHING: "watching",
    Phase.HOLDING: "holding",
    Phase.VERIFYING: "verifying",
    Phase.SPREAD_PENDING: "spread pending",
    Phase.REVERTING: "verified; revert pending",
    Phase.ESCALATED: "escalated",
    Phase.GAVE_UP: "gave up",
    Phase.CLOSED: "closed",
}


def _node(name: str) -> str:
    """The node's short name (EC2 private DNS names all end the same way)."""
    return name.split(".", 1)[0]


def _rate(value: float) -> str:
    return f"~{value:.0f}"


def drops(observations: Sequence[Observation]) -> str:
    """The nodes with drops now, e.g. "drops on ip-10-0-1-23 ~3000 pkt/s"."""
    active = [o for o in observations if o.status is not DropStatus.RECOVERED and o.drop_rate is not None]
    if not active:
        return ""
    parts = [f"{_node(o.node)} {_rate(o.drop_rate or 0.0)} pkt/s" for o in active[:3]]
    more = f" and {len(active) - 3} more" if len(active) > 3 else ""
    return "drops on " + ", ".join(parts) + more


def change(decision: Decision, state: ClusterState) -> str:
    """What a change does to the cluster, in words."""
    nodes = state.coredns_distinct_nodes
    if isinstance(decision, SpreadCoreDns):
        room = len(state.schedulable_nodes) or state.ready_nodes or decision.target
        after_nodes = min(decision.target, max(room, nodes))
        return (
            f"CoreDNS {decision.current} → {decision.target} replicas,"
            f" on {nodes} → {after_nodes} nodes (at most {decision.per_node} per node)"
        )
    if isinstance(decision, ScaleCoreDns):
        return (
            f"CoreDNS {decision.current} → {decision.target} replicas"
            f" ({state.replica_owner} floor {state.replica_floor} → {decision.target}), on {nodes} nodes now"
        )
    if isinstance(decision, RevertCoreDns):
        was = decision.original.get("floor", decision.original.get("replicas"))
        target = was if isinstance(was, int) else "its value before netguard"
        return f"CoreDNS replica floor ({state.replica_owner}) {state.replica_floor} → {target}"
    if isinstance(decision, RevertSpread):
        return "CoreDNS spread → the pod spec as before netguard"
    if isinstance(decision, EnableNodeLocal):
        return "NodeLocal DNSCache off → on"
    if isinstance(decision, DisableNodeLocal):
        return "NodeLocal DNSCache on → off (what netguard applied is removed)"
    return ""


def summary(
    event: Event,
    decision: Decision | None,
    state: ClusterState | None,
    observations: Sequence[Observation],
    history: History,
    *,
    dry_run: bool = False,
) -> str:
    """One line for people: the change (or what would have changed), or how the drops went."""
    now = drops(observations)
    if (
        decision is not None
        and state is not None
        and event
        in (
            Event.ACTION_APPLIED,
            Event.ACTION_DRY_RUN,
            Event.REVERTED,
            Event.SPREAD_WAITING,
        )
    ):
        words = change(decision, state)
        if words:
            prefix = "would change " if dry_run else ""
            return prefix + words + (f"; {now}" if now else "")
    before = history.last_scale.drop_rate_before if history.last_scale is not None else None
    if event in (Event.DROPS_STOPPED, Event.REVERT_DUE, Event.REVERTED) and before is not None:
        return f"drops on CoreDNS nodes {_rate(before)} → 0 pkt/s"
    return now
