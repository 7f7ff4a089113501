"""What netguard knows about a cluster's DNS at one moment: CoreDNS pods, replica owner, NodeLocal
DNSCache and kube-proxy mode. Built by `observe.observe_cluster_dns`; read by enrichment and
remediation. Pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class OwnerKind(StrEnum):
    """Who sets CoreDNS's replica count (writing `spec.replicas` under an autoscaler is undone)."""

    DEPLOYMENT = "deployment"
    EKS_ADDON = "eks-addon"
    CLUSTER_PROPORTIONAL_AUTOSCALER = "cluster-proportional-autoscaler"
    HPA = "hpa"


def _frozen(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class CoreDnsPod:
    name: str
    node_name: str
    """Empty while the pod is not scheduled."""
    ready: bool
    phase: str
    """Pending, Running, Succeeded, Failed or Unknown."""


@dataclass(frozen=True)
class ReplicaOwner:
    kind: OwnerKind
    name: str
    """The Deployment, HPA or autoscaler Deployment that owns the count."""
    detail: Mapping[str, Any] = field(default_factory=_frozen)
    """hpa: `min_replicas`, `max_replicas`. cluster-proportional-autoscaler: `configmap` (its name),
    `namespace`, and `linear` or `ladder` (the parsed parameters, e.g. `{"min": 2, ...}`) when set.
    deployment: `replicas`."""


@dataclass(frozen=True)
class ClusterDns:
    coredns_desired: int
    coredns_ready: int
    pods: tuple[CoreDnsPod, ...]
    owner: ReplicaOwner
    nodelocal_enabled: bool
    kube_proxy_mode: str
    """"iptables", "ipvs", "nftables", or "" when no kube-proxy configuration was found."""
    kube_dns_ip: str
    """ClusterIP of the kube-dns Service; "" when there is none."""
    cluster_domain: str
    deployment_name: str = "coredns"
    namespace: str = "kube-system"
    match_labels: Mapping[str, str] = field(default_factory=_frozen)
    """The CoreDNS Deployment's selector (what a spread constraint must select)."""
    spread_durable: bool = False
    """The pod template keeps replicas apart per node (DoNotSchedule hostname constraint or required
    anti-affinity), so an evicted replica cannot come back to the node it left."""

    def pods_on(self, node_name: str) -> tuple[CoreDnsPod, ...]:
        """CoreDNS pods scheduled on `node_name` (they share its network interface)."""
        return tuple(p for p in self.pods if node_name and p.node_name == node_name)

    def distinct_nodes(self) -> tuple[str, ...]:
        """Sorted names of the nodes that run at least one CoreDNS pod."""
        return tuple(sorted({p.node_name for p in self.pods if p.node_name}))
