"""A diagnosis per alert in plain words: what the counter means, whether the node hosts CoreDNS and
how many replicas share its interface, what would help, and whether netguard's remediation may act
(firing DNS throttling on a node that runs CoreDNS). Pure.
"""

from __future__ import annotations

from netguard.alerts.models import Alert, AllowanceKind, Status
from netguard.enriched.models import Diagnosis, DnsContext, InstanceInfo, NodeInfo

LINKLOCAL_PPS_LIMIT = 1024

MEANING: dict[AllowanceKind, str] = {
    AllowanceKind.LINKLOCAL: (
        "Packets to link-local services (the Amazon-provided DNS resolver, instance metadata, time sync) "
        f"were dropped because this network interface sent more than {LINKLOCAL_PPS_LIMIT} packets per "
        "second to them. DNS queries are lost silently and show up as timeouts, not in query logs."
    ),
    AllowanceKind.PPS: (
        "Packets were queued or dropped because the instance exceeded the packets-per-second allowance of "
        "its instance type."
    ),
    AllowanceKind.BW_IN: (
        "Packets were queued or dropped because inbound traffic exceeded the aggregate bandwidth allowance "
        "of the instance type."
    ),
    AllowanceKind.BW_OUT: (
        "Packets were queued or dropped because outbound traffic exceeded the aggregate bandwidth allowance "
        "of the instance type."
    ),
    AllowanceKind.CONNTRACK: (
        "Packets were dropped because the instance's connection-tracking table was full: new connections "
        "could not be established."
    ),
    AllowanceKind.CONNTRACK_AVAILABLE: (
        "The instance is running out of connection-tracking capacity; when it reaches zero, new "
        "connections are dropped."
    ),
    AllowanceKind.UNKNOWN: "netguard does not recognise the counter this alert is about.",
}

HELP: dict[AllowanceKind, tuple[str, ...]] = {
    AllowanceKind.PPS: (
        "Spread the packet-heavy pods over more nodes, or use a larger or network-optimised instance type.",
        "Fewer, larger packets (batching, connection reuse) lower the packet rate for the same traffic.",
    ),
    AllowanceKind.BW_IN: (
        "Spread the traffic-heavy pods over more nodes, or use an instance type with more baseline "
        "bandwidth.",
        "Burst bandwidth is only available for short periods; sustained traffic is capped at the baseline.",
    ),
    AllowanceKind.BW_OUT: (
        "Spread the traffic-heavy pods over more nodes, or use an instance type with more baseline "
        "bandwidth.",
        "Burst bandwidth is only available for short periods; sustained traffic is capped at the baseline.",
    ),
    AllowanceKind.CONNTRACK: (
        "Reuse connections (keep-alive, pooling) and shorten idle timeouts so fewer connections are tracked.",
        "A larger instance type tracks more connections; security group rules that allow all traffic in both "
        "directions avoid tracking for that traffic.",
    ),
    AllowanceKind.CONNTRACK_AVAILABLE: (
        "Reuse connections and shorten idle timeouts before the table fills, or move to a larger "
        "instance type.",
    ),
    AllowanceKind.UNKNOWN: ("Check the alert rule and the exporter's counter names.",),
}


def diagnose(
    alert: Alert,
    *,
    instance: InstanceInfo | None = None,
    node: NodeInfo | None = None,
    dns: DnsContext | None = None,
    drop_rate: float | None = None,
) -> Diagnosis:
    kind = alert.allowance
    where = _where(node, instance)
    details: list[str] = [MEANING[kind]]
    details.extend(_capacity(kind, instance))
    if drop_rate is not None:
        details.append(f"Current rate on this node: {drop_rate:.1f} per second.")

    if kind is AllowanceKind.LINKLOCAL:
        summary, dns_details, remediable = _linklocal(where, dns)
        details.extend(dns_details)
    else:
        summary = f"{_title(kind)} on {where}."
        details.extend(HELP.get(kind, ()))
        remediable = False

    if alert.ambiguous:
        # What the message says of this alert may not be what Alertmanager sent: never a reason to act.
        details.append(
            f"The message could not be read for sure ({alert.ambiguity}): netguard will not act on it."
        )
        remediable = False
    if alert.status is Status.RESOLVED:
        return Diagnosis(summary=f"Resolved: {summary}", details=tuple(details), remediable=False)
    return Diagnosis(summary=summary, details=tuple(details), remediable=remediable)


def _linklocal(where: str, dns: DnsContext | None) -> tuple[str, list[str], bool]:
    if dns is None:
        return (
            f"DNS and other link-local traffic throttled on {where}; cluster DNS could not be inspected.",
            [
                "More CoreDNS replicas on more nodes, or NodeLocal DNSCache, usually help; "
                "check where CoreDNS runs."
            ],
            False,
        )
    details: list[str] = []
    on_node = len(dns.coredns_pods_on_node)
    replicas = dns.coredns_replicas
    spread = dns.coredns_distinct_nodes
    if on_node:
        share = "it shares" if on_node == 1 else "they share"
        summary = f"DNS throttling on {where}, which runs {on_node} CoreDNS pod{'s' if on_node > 1 else ''}."
        details.append(
            f"This node runs {on_node} of {replicas if replicas is not None else '?'} CoreDNS replicas "
            f"({', '.join(dns.coredns_pods_on_node)}); {share} one network interface, so every query CoreDNS "
            f"forwards to the VPC resolver from here counts against the same {LINKLOCAL_PPS_LIMIT} packets "
            "per second."
        )
    else:
        summary = f"Link-local traffic throttled on {where}, which runs no CoreDNS pod."
        details.append(
            "CoreDNS does not run here, so the drops come from pods on this node that query the VPC "
            "resolver or instance metadata directly; more CoreDNS replicas will not help them."
        )
    if spread is not None and replicas is not None:
        details.append(
            f"CoreDNS runs {replicas} replica{'s' if replicas != 1 else ''} "
            f"({dns.coredns_ready if dns.coredns_ready is not None else '?'} ready) "
            f"on {spread} distinct node{'s' if spread != 1 else ''}."
        )
    caches = [p for p in dns.dns_servers_on_node if p.split("/", 1)[-1].startswith("node-local-dns")]
    if caches:
        details.append(
            f"NodeLocal DNSCache runs here ({', '.join(caches)}): it is the cluster's DNS path, not a pod"
            " that bypasses it, but it forwards names outside the cluster domain to the VPC resolver from"
            " this node."
        )
    if dns.dns_bypass_pods:
        details.append(
            f"Pods here that bypass cluster DNS (host network or dnsPolicy Default): "
            f"{', '.join(dns.dns_bypass_pods)}. Their queries go straight to the VPC resolver."
        )
    helps: list[str] = []
    if on_node:
        helps.append("More CoreDNS replicas spread over more nodes (more interfaces share the load).")
    if dns.nodelocal_dns_enabled:
        details.append(
            "NodeLocal DNSCache is enabled: pods query a cache on their own node, and only misses reach "
            "CoreDNS."
        )
    elif dns.kube_proxy_mode == "ipvs":
        helps.append(
            "NodeLocal DNSCache would cache on every node, but kube-proxy runs in IPVS mode, which needs "
            "kubelet changes first."
        )
    else:
        helps.append("NodeLocal DNSCache caches answers on every node, so far fewer queries leave the node.")
    if dns.dns_bypass_pods:
        helps.append(
            "Switch the listed pods to dnsPolicy ClusterFirstWithHostNet (host network) or ClusterFirst."
        )
    details.append("What would help: " + " ".join(helps))
    remediable = on_node > 0
    if remediable:
        details.append(
            "netguard can remediate this automatically (CoreDNS replicas or NodeLocal DNSCache), "
            "subject to its safety policy."
        )
    return summary, details, remediable


def _where(node: NodeInfo | None, instance: InstanceInfo | None) -> str:
    if node is not None and instance is not None:
        return f"node {node.name} ({instance.instance_id}, {instance.instance_type or 'unknown type'})"
    if node is not None:
        return f"node {node.name}"
    if instance is not None:
        return f"instance {instance.instance_id} ({instance.instance_type or 'unknown type'})"
    return "an unidentified node"


def _capacity(kind: AllowanceKind, instance: InstanceInfo | None) -> list[str]:
    if instance is None or not instance.instance_type:
        return []
    if kind in (AllowanceKind.BW_IN, AllowanceKind.BW_OUT, AllowanceKind.PPS) and (
        instance.baseline_bandwidth_gbps is not None
    ):
        return [
            f"{instance.instance_type}: baseline {instance.baseline_bandwidth_gbps:g} Gbps, burst up to "
            f"{instance.peak_bandwidth_gbps if instance.peak_bandwidth_gbps is not None else '?'} Gbps "
            f"({instance.network_performance or 'performance unknown'})."
        ]
    if instance.network_performance:
        return [
            f"{instance.instance_type}: network performance {instance.network_performance}, "
            f"up to {instance.max_network_interfaces or '?'} network interfaces."
        ]
    return []


def _title(kind: AllowanceKind) -> str:
    return {
        AllowanceKind.PPS: "Packets-per-second allowance exceeded",
        AllowanceKind.BW_IN: "Inbound bandwidth allowance exceeded",
        AllowanceKind.BW_OUT: "Outbound bandwidth allowance exceeded",
        AllowanceKind.CONNTRACK: "Connection-tracking allowance exceeded",
        AllowanceKind.CONNTRACK_AVAILABLE: "Connection-tracking capacity running low",
        AllowanceKind.LINKLOCAL: "Link-local allowance exceeded",
    }.get(kind, "Network allowance alert")
