"""Operator commands as decisions, run through the same service path as automatic ones.

`netguard remediation revert|disable-nodelocal` build these; the service takes the lock, applies,
audits and publishes exactly as for an alert (without the kill switch and modes: a person decided).
"""

from __future__ import annotations

from typing import Any

from netguard.remediate.cluster import ClusterHandle
from netguard.remediate.models import Decision, DisableNodeLocal, History, NoAction, RevertCoreDns


def revert_coredns(handle: ClusterHandle, history: History) -> Decision:
    if history.original_coredns is None:
        return NoAction(("operator revert: netguard has not raised the CoreDNS floor; nothing to restore",))
    return RevertCoreDns(
        history.original_coredns,
        ("operator revert: CoreDNS replica floor back to its value before netguard raised it",),
    )


def revert_nodelocal(handle: ClusterHandle, history: History) -> Decision:
    if not history.nodelocal_enabled_by_netguard:
        return NoAction(("operator revert: netguard did not enable NodeLocal DNSCache; left as it is",))
    return DisableNodeLocal(("operator revert: remove NodeLocal DNSCache, which netguard enabled",))


def disable_nodelocal(handle: ClusterHandle, history: History) -> Decision:
    return DisableNodeLocal(("operator asked to remove NodeLocal DNSCache (only objects netguard applied)",))


def state_summary(handle: ClusterHandle) -> dict[str, Any]:
    state = handle.state
    return {
        "coredns_replicas": state.coredns_current,
        "replica_owner": state.replica_owner,
        "replica_floor": state.replica_floor,
        "coredns_ready": state.coredns_ready,
        "coredns_pods_by_node": dict(state.coredns_pods_by_node),
        "nodelocal_enabled": state.nodelocal_enabled,
        "kube_proxy_mode": state.kube_proxy_mode,
        "ready_nodes": state.ready_nodes,
    }
