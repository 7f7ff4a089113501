"""Working data of enrichment: where an alert points (`AlertTarget`), what the look-ups found
(`Ec2Lookup`, `KubernetesView`, `DropRates`) and what the pipeline hands to publishing
(`EnrichmentResult`). Pure data; the published contract is `netguard.enriched`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from netguard.dns.models import ClusterDns
from netguard.enriched.models import EnrichedAlert, EnrichmentError, InstanceInfo, NodeInfo


def _frozen_map() -> Mapping[str, object]:
    return MappingProxyType({})


@dataclass(frozen=True)
class AlertTarget:
    """What an alert's labels say about where it fired; any field may be empty."""

    cluster: str
    ip: str = ""
    """A private IPv4 address (from `instance` "IP:port" or an address label)."""
    dns_name: str = ""
    """An EC2 private DNS name (ip-10-0-1-5.ec2.internal / ...compute.internal)."""
    instance_id: str = ""
    node_name: str = ""
    instance_label: str = ""
    """The raw `instance` label, used to match Prometheus series."""

    @property
    def addressed(self) -> bool:
        return bool(self.ip or self.dns_name or self.instance_id or self.node_name)

    def describe(self) -> str:
        """How the alert addressed its target, in words, for error messages."""
        parts = [
            f"private IP {self.ip}" if self.ip else "",
            f"DNS name {self.dns_name}" if self.dns_name else "",
            f"instance {self.instance_id}" if self.instance_id else "",
            f"node {self.node_name}" if self.node_name and self.node_name != self.dns_name else "",
        ]
        return ", ".join(p for p in parts if p) or "no address"


@dataclass(frozen=True)
class Ec2Lookup:
    """Instances found by one bulk look-up, indexed every way an alert can address them."""

    by_id: Mapping[str, InstanceInfo] = field(default_factory=dict)
    by_ip: Mapping[str, InstanceInfo] = field(default_factory=dict)
    by_dns: Mapping[str, InstanceInfo] = field(default_factory=dict)

    def find(self, *, instance_id: str = "", ip: str = "", dns_name: str = "") -> InstanceInfo | None:
        return (
            (self.by_id.get(instance_id) if instance_id else None)
            or (self.by_ip.get(ip) if ip else None)
            or (self.by_dns.get(dns_name.lower()) if dns_name else None)
        )


@dataclass(frozen=True)
class NodeRecord:
    """A Kubernetes node and the EC2 instance id from its providerID."""

    info: NodeInfo
    instance_id: str = ""


@dataclass(frozen=True)
class DnsPodsOnNodes:
    """Pods on the alerting nodes that talk to the VPC resolver directly, in two kinds."""

    bypass: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Node -> pods that bypass cluster DNS (host network or dnsPolicy Default, not DNS servers)."""
    servers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Node -> the cluster's DNS servers (CoreDNS, NodeLocal DNSCache): the DNS path, not bypassers."""


@dataclass(frozen=True)
class KubernetesView:
    """One cluster as seen from its API server during one invocation."""

    nodes: tuple[NodeRecord, ...] = ()
    dns: ClusterDns | None = None
    bypass_pods: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Node name -> `namespace/name` of pods on it that bypass cluster DNS."""
    dns_servers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Node name -> `namespace/name` of the cluster's DNS servers on it (CoreDNS, NodeLocal DNSCache)."""

    def find_node(
        self, *, name: str = "", ip: str = "", instance_id: str = "", dns_name: str = ""
    ) -> NodeRecord | None:
        for record in self.nodes:
            if (
                (name and record.info.name == name)
                or (instance_id and record.instance_id == instance_id)
                or (ip and record.info.internal_ip == ip)
                or (dns_name and record.info.name.lower() == dns_name.lower())
            ):
                return record
        return None


@dataclass(frozen=True)
class DropRates:
    """Current per-second rates of allowance counters, by (`instance` label or IP, counter name)."""

    rates: Mapping[tuple[str, str], float] = field(default_factory=dict)
    graph_urls: Mapping[str, str] = field(default_factory=dict)
    """Counter name -> graph link for that counter (when a graph URL is known)."""


@dataclass(frozen=True)
class EnrichmentResult:
    alerts: tuple[EnrichedAlert, ...]
    errors: tuple[EnrichmentError, ...] = ()
    calls: Mapping[str, int] = field(default_factory=dict)
    """API requests made, by `service operation` (benchmarks and logs)."""


@dataclass(frozen=True)
class TypeNetwork:
    """What an instance type allows on the network (DescribeInstanceTypes `NetworkInfo`)."""

    network_performance: str = ""
    baseline_bandwidth_gbps: float | None = None
    """Summed over the type's network cards."""
    peak_bandwidth_gbps: float | None = None
    max_network_interfaces: int | None = None
    ena_support: str = ""
