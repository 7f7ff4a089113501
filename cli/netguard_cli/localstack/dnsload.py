"""The local stack's model of DNS traffic to the VPC resolver: who sends how many packets per second
to the link-local address from which node, read from where pods actually run.

Pure core (`DnsTraffic`, `LoadModel`, `linklocal_pps`, `drops_per_node`) and one adapter,
`observe_traffic`, that reads the placement from the cluster. `stack.DnsLoad` runs it every second
and feeds the fake ENA exporter, so whatever remediation does to placement shows in the drops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from netguard.clients.kubernetes import JsonObject, Kube

LOAD_ANNOTATION = "netguard.local/dns-qps"
"""On a pod that bypasses cluster DNS (hostNetwork, dnsPolicy Default): the queries/s it sends itself."""
NODELOCAL_SELECTOR = "k8s-app=node-local-dns"
COREDNS_SELECTOR = "k8s-app=kube-dns"


@dataclass(frozen=True)
class DnsTraffic:
    """Where DNS is served and sent from, as the cluster runs it now."""

    nodes: tuple[str, ...] = ()
    """Every node; pods that query through cluster DNS are taken to run evenly on all of them."""
    coredns: tuple[str, ...] = ()
    """The node of each Ready CoreDNS pod (a node twice: two pods share its interface)."""
    nodelocal: frozenset[str] = frozenset()
    """Nodes with a Ready NodeLocal DNSCache pod."""
    bypass: Mapping[str, float] = field(default_factory=dict)
    """Node -> queries/s that pods there send to the VPC resolver themselves (hostNetwork, dnsPolicy
    Default): NodeLocal DNSCache does not see them, more CoreDNS replicas do not move them."""
    coredns_pods: tuple[str, ...] = ()
    """The name of each Ready CoreDNS pod, in the order of `coredns` (empty when not read)."""


@dataclass(frozen=True)
class LoadModel:
    queries_pps: float
    """Queries/s the cluster's pods send through cluster DNS that end at the VPC resolver."""
    limit_pps: float = 1024.0
    """What one network interface may send to link-local addresses; above it, packets drop."""
    cache_hit_ratio: float = 0.9
    """Share of a node's queries its NodeLocal DNSCache answers itself; it forwards the rest to the
    VPC resolver from that node (upstream manifest: `forward . /etc/resolv.conf`)."""


def linklocal_pps(traffic: DnsTraffic, model: LoadModel) -> dict[str, float]:
    """Packets/s each node sends to the VPC resolver: its share of CoreDNS's forwarding (queries from
    nodes without a Ready cache, split evenly over Ready CoreDNS pods, as kube-proxy balances), its
    cache's misses, and its bypass pods' own queries. Nodes sending nothing are left out."""
    sent: dict[str, float] = {}
    share, per_pod = _shares(traffic, model)
    for node in traffic.nodes:
        if node in traffic.nodelocal:
            sent[node] = sent.get(node, 0.0) + share * (1.0 - model.cache_hit_ratio)
    for node in traffic.coredns:
        sent[node] = sent.get(node, 0.0) + per_pod
    for node, qps in traffic.bypass.items():
        sent[node] = sent.get(node, 0.0) + qps
    return {node: round(pps, 1) for node, pps in sorted(sent.items()) if pps > 0}


def forwarded_per_pod(traffic: DnsTraffic, model: LoadModel) -> dict[str, float]:
    """Queries/s each Ready CoreDNS pod forwards to the VPC resolver (what CoreDNS's forward plugin
    counts): the queries from nodes without a Ready cache, split evenly over the pods."""
    _, per_pod = _shares(traffic, model)
    return {pod: round(per_pod, 1) for pod in traffic.coredns_pods}


def _shares(traffic: DnsTraffic, model: LoadModel) -> tuple[float, float]:
    """(queries/s each node's pods send, queries/s each Ready CoreDNS pod forwards): pods query evenly
    from every node; what nodes with a Ready cache send stays there, the rest is split evenly over the
    CoreDNS pods (0 when none is Ready)."""
    nodes = traffic.nodes
    share = model.queries_pps / len(nodes) if nodes else 0.0
    through_coredns = model.queries_pps - share * sum(1 for n in nodes if n in traffic.nodelocal)
    return share, (through_coredns / len(traffic.coredns) if traffic.coredns else 0.0)


def drops_per_node(sent: Mapping[str, float], limit_pps: float) -> dict[str, float]:
    """Drops/s per node: what it sends to link-local above the allowance."""
    return {node: round(pps - limit_pps, 1) for node, pps in sorted(sent.items()) if pps > limit_pps}


def linklocal_drops(pod_nodes: Sequence[str], load_pps: float, limit_pps: float) -> dict[str, float]:
    """Drops per second per node when `load_pps` is split evenly over CoreDNS pods on `pod_nodes`
    (one entry per pod), with no node cache and no bypass pods."""
    sent = linklocal_pps(DnsTraffic(coredns=tuple(pod_nodes)), LoadModel(load_pps, limit_pps))
    return drops_per_node(sent, limit_pps)


# --- reading the cluster -------------------------------------------------------------------------


def observe_traffic(kube: Kube, nodes: Sequence[str]) -> DnsTraffic:
    """The placement the model needs, in two list calls (kube-system pods, annotated pods)."""
    system = kube.list_all(kube.core.list_namespaced_pod, "kube-system")
    coredns = [p for p in system if _labelled(p, COREDNS_SELECTOR) and _ready(p)]
    nodelocal = [p for p in system if _labelled(p, NODELOCAL_SELECTOR) and _ready(p)]
    bypass: dict[str, float] = {}
    for pod in kube.list_all(kube.core.list_pod_for_all_namespaces):
        qps = (pod["metadata"].get("annotations") or {}).get(LOAD_ANNOTATION)
        if qps is not None and _ready(pod) and _bypasses(pod):
            node = pod["spec"]["nodeName"]
            bypass[node] = bypass.get(node, 0.0) + float(qps)
    coredns.sort(key=lambda p: (p["spec"]["nodeName"], p["metadata"]["name"]))
    return DnsTraffic(
        nodes=tuple(nodes),
        coredns=tuple(p["spec"]["nodeName"] for p in coredns),
        coredns_pods=tuple(p["metadata"]["name"] for p in coredns),
        nodelocal=frozenset(p["spec"]["nodeName"] for p in nodelocal),
        bypass=bypass,
    )


def _labelled(pod: JsonObject, selector: str) -> bool:
    key, value = selector.split("=", 1)
    return (pod["metadata"].get("labels") or {}).get(key) == value


def _ready(pod: JsonObject) -> bool:
    return (
        not pod["metadata"].get("deletionTimestamp")
        and bool((pod.get("spec") or {}).get("nodeName"))
        and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (pod.get("status") or {}).get("conditions") or []
        )
    )


def _bypasses(pod: JsonObject) -> bool:
    spec = pod.get("spec") or {}
    if spec.get("hostNetwork"):
        return spec.get("dnsPolicy") != "ClusterFirstWithHostNet"
    return spec.get("dnsPolicy") == "Default"
