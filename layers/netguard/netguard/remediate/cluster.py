"""One cluster as remediation sees it: a DNS snapshot plus the actuators that may change it.

`connect_cluster` is the production connector (Kubernetes client, DNS observation, the CoreDNS
actuator for whoever owns the replica count, NodeLocal DNSCache); tests inject their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from netguard.clients import aws
from netguard.clients.eks import kube_client
from netguard.clients.kubernetes import JsonObject
from netguard.config.clusters import ClusterConfig
from netguard.dns import ClusterDns, observe_cluster_dns
from netguard.remediate.actuators import ChangeResult, NodeLocalDnsActuator, ReplicaFloor, coredns_actuator
from netguard.remediate.models import ClusterState


class CoreDnsPort(Protocol):
    def read(self) -> ReplicaFloor: ...

    def raise_floor(self, target: int, *, dry_run: bool) -> ChangeResult: ...

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult: ...


class NodeLocalPort(Protocol):
    def is_enabled(self) -> bool: ...

    def enable(self, dns: ClusterDns, *, dry_run: bool) -> ChangeResult: ...

    def disable(self, *, dry_run: bool) -> ChangeResult: ...


@dataclass(frozen=True)
class ClusterHandle:
    state: ClusterState
    dns: ClusterDns
    coredns: CoreDnsPort
    nodelocal: NodeLocalPort


Connector = Callable[[ClusterConfig, float], ClusterHandle]
"""(cluster configuration, now) -> a fresh snapshot and actuators; called under the lock."""


def connect_cluster(config: ClusterConfig, now: float, *, eks: Any | None = None) -> ClusterHandle:
    kube = kube_client(config.access)
    dns = observe_cluster_dns(kube)
    eks_client = eks if eks is not None else aws.client("eks", config.region)
    coredns = coredns_actuator(kube, dns, eks=eks_client, cluster_name=config.eks_name)
    floor = coredns.read()
    return ClusterHandle(
        state=snapshot(config.name, now, dns, floor, nodes=kube.list_all(kube.core.list_node)),
        dns=dns,
        coredns=coredns,
        nodelocal=NodeLocalDnsActuator(kube),
    )


def snapshot(
    cluster: str, now: float, dns: ClusterDns, floor: ReplicaFloor, *, nodes: Sequence[JsonObject] | None
) -> ClusterState:
    pods_by_node: dict[str, int] = {}
    for pod in dns.pods:
        if pod.node_name and pod.phase not in ("Succeeded", "Failed"):
            pods_by_node[pod.node_name] = pods_by_node.get(pod.node_name, 0) + 1
    return ClusterState(
        cluster=cluster,
        now=now,
        coredns_desired=floor.replicas,
        coredns_ready=dns.coredns_ready,
        coredns_pods_by_node=pods_by_node,
        replica_owner=floor.owner,
        replica_floor=floor.floor,
        nodelocal_enabled=dns.nodelocal_enabled,
        kube_proxy_mode=dns.kube_proxy_mode,
        ready_nodes=None if nodes is None else ready_nodes(nodes),
        node_names=frozenset(n["metadata"]["name"] for n in nodes or ()),
    )


def ready_nodes(nodes: Sequence[JsonObject]) -> int:
    """Nodes that are Ready and schedulable (each one more interface CoreDNS could use)."""
    count = 0
    for node in nodes:
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        conditions = (node.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            count += 1
    return count
