"""Observation of a cluster's DNS: CoreDNS, who owns its replica count, NodeLocal DNSCache, kube-proxy.

Read by enrichment (context for every alert) and by remediation (what to change and how).
"""

from netguard.dns.errors import DnsObservationError
from netguard.dns.models import ClusterDns, CoreDnsPod, OwnerKind, ReplicaOwner
from netguard.dns.observe import observe_cluster_dns, parse_cluster_domain, parse_kube_proxy_mode

__all__ = [
    "ClusterDns",
    "CoreDnsPod",
    "DnsObservationError",
    "OwnerKind",
    "ReplicaOwner",
    "observe_cluster_dns",
    "parse_cluster_domain",
    "parse_kube_proxy_mode",
]
