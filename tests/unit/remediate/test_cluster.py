"""The cluster snapshot remediation decides from: Ready replicas per node, schedulable nodes."""

from __future__ import annotations

from typing import Any

from netguard.dns import ClusterDns, CoreDnsPod, OwnerKind, ReplicaOwner
from netguard.remediate.actuators import ReplicaFloor
from netguard.remediate.cluster import snapshot


def node(name: str, *, ready: bool = True, cordoned: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"unschedulable": True} if cordoned else {},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_ready_replicas_and_schedulable_nodes() -> None:
    """Only Ready pods take queries; cordoned or NotReady nodes cannot take a replica."""
    dns = ClusterDns(
        coredns_desired=3,
        coredns_ready=2,
        pods=(
            CoreDnsPod("c1", "a", ready=True, phase="Running"),
            CoreDnsPod("c2", "a", ready=False, phase="Pending"),
            CoreDnsPod("c3", "b", ready=True, phase="Running"),
            CoreDnsPod("c4", "", ready=False, phase="Pending"),
        ),
        owner=ReplicaOwner(OwnerKind.DEPLOYMENT, "coredns"),
        nodelocal_enabled=False,
        kube_proxy_mode="iptables",
        kube_dns_ip="10.100.0.10",
        cluster_domain="cluster.local",
        spread_durable=True,
    )
    nodes = [node("a"), node("b"), node("c", cordoned=True), node("d", ready=False), node("e")]
    state = snapshot("prod", 0.0, dns, ReplicaFloor("deployment", 3, 3), nodes=nodes)
    assert dict(state.coredns_pods_by_node) == {"a": 2, "b": 1}
    assert state.coredns_ready_by_node == {"a": 1, "b": 1}
    assert state.schedulable_nodes == frozenset({"a", "b", "e"})
    assert state.ready_nodes == 3
    assert state.spread_durable
