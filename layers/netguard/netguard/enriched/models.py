"""The enriched event: what `functions/enrich` publishes and every downstream function reads.

Versioned (`SCHEMA`); fields may be added within a version, never renamed or removed. One event per
alert group (or per numbered part of a group too large for one SNS message); an unparseable message
and every remediation decision are events of their own type on the same topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from netguard.alerts.models import Alert, frozen_map

SCHEMA = "netguard.enriched/v1"


class EventType(StrEnum):
    ALERT_GROUP = "alert_group"
    UNPARSEABLE = "unparseable"
    REMEDIATION = "remediation"


@dataclass(frozen=True)
class InstanceInfo:
    """The EC2 instance behind a node, and what its type allows on the network."""

    instance_id: str
    instance_type: str = ""
    availability_zone: str = ""
    private_ip: str = ""
    private_dns_name: str = ""
    state: str = ""
    network_performance: str = ""
    """As EC2 states it, e.g. "Up to 12.5 Gigabit"."""
    baseline_bandwidth_gbps: float | None = None
    peak_bandwidth_gbps: float | None = None
    max_network_interfaces: int | None = None
    ena_support: str = ""
    """"required", "supported" or "unsupported"."""


@dataclass(frozen=True)
class NodeInfo:
    name: str
    internal_ip: str = ""
    provider_id: str = ""
    instance_type: str = ""
    zone: str = ""
    nodegroup: str = ""
    ready: bool | None = None


@dataclass(frozen=True)
class DnsContext:
    """Cluster DNS as seen from one node."""

    coredns_replicas: int | None = None
    """Desired replicas of the CoreDNS Deployment."""
    coredns_ready: int | None = None
    coredns_distinct_nodes: int | None = None
    """How many nodes (so network interfaces) the CoreDNS pods are spread over."""
    coredns_pods_on_node: tuple[str, ...] = ()
    replica_owner: str = ""
    """Who sets CoreDNS's replica count: deployment, eks-addon, cluster-proportional-autoscaler, hpa."""
    nodelocal_dns_enabled: bool | None = None
    kube_proxy_mode: str = ""
    """"iptables", "ipvs" or "" when unknown."""
    dns_bypass_pods: tuple[str, ...] = ()
    """`namespace/name` of pods on the node that use the VPC resolver directly (hostNetwork or
    dnsPolicy Default), so CoreDNS scaling does not help them. Never the cluster's DNS servers."""
    dns_servers_on_node: tuple[str, ...] = ()
    """`namespace/name` of the cluster's DNS servers on the node (CoreDNS, NodeLocal DNSCache): they
    use the VPC resolver by design, as the forwarders of cluster DNS (added within v1)."""


@dataclass(frozen=True)
class Diagnosis:
    summary: str
    details: tuple[str, ...] = ()
    remediable: bool = False
    """True for DNS throttling that netguard's remediation may act on."""


@dataclass(frozen=True)
class EnrichedAlert:
    alert: Alert
    cluster: str
    instance: InstanceInfo | None = None
    node: NodeInfo | None = None
    dns: DnsContext | None = None
    drop_rate_per_second: float | None = None
    """Current rate of the alert's counter on this node (from AMP/Prometheus), when queried."""
    graph_url: str = ""
    diagnosis: Diagnosis | None = None


@dataclass(frozen=True)
class EnrichmentError:
    source: str
    """What failed: "ec2", "ec2-instance-types", "kubernetes", "prometheus", "eks"..."""
    message: str
    fingerprint: str = ""
    """The alert it concerns; empty when it concerns the whole group."""


@dataclass(frozen=True)
class SourceRef:
    """Where the event came from: the SNS notification Alertmanager published."""

    message_id: str = ""
    topic_arn: str = ""
    subject: str = ""
    timestamp: str = ""


@dataclass(frozen=True)
class GroupInfo:
    receiver: str = ""
    source_format: str = ""
    truncated: bool = False
    warnings: tuple[str, ...] = ()
    group_key: str = ""
    external_url: str = ""
    group_labels: Mapping[str, str] = field(default_factory=frozen_map)
    common_labels: Mapping[str, str] = field(default_factory=frozen_map)
    common_annotations: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class UnparseableInfo:
    reason: str
    raw_size: int
    raw_preview: str
    """The first few hundred characters, for people; the full message is kept elsewhere."""
    raw_location: str = ""
    """Where the full raw message was kept (e.g. `s3://...`, `sqs://...`, `dynamodb://...`)."""


class ActionKind(StrEnum):
    SCALE_COREDNS = "scale_coredns"
    ENABLE_NODELOCAL = "enable_nodelocal_dnscache"
    DISABLE_NODELOCAL = "disable_nodelocal_dnscache"
    REVERT_COREDNS = "revert_coredns"
    SPREAD_COREDNS = "spread_coredns"
    """Move CoreDNS replicas off a node that carries several (evictions), spread durably (pod spec)."""
    REVERT_SPREAD = "revert_spread"
    ESCALATE = "escalate"
    GIVE_UP = "give_up"
    """Automatic steps exhausted (step budget or checks); the report says why, people take over."""
    NONE = "none"


class Outcome(StrEnum):
    APPLIED = "applied"
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"
    """Deliberately not done: cooldown, kill switch, mode off, gate not met, nothing to do."""
    REFUSED = "refused"
    """Not safe: e.g. NodeLocal DNSCache with kube-proxy in IPVS mode."""
    FAILED = "failed"


@dataclass(frozen=True)
class RemediationReport:
    decision_id: str
    cluster: str
    action: ActionKind
    outcome: Outcome
    mode: str
    """The action's mode when decided: enforce, dry-run or off."""
    reasons: tuple[str, ...]
    """Plain-words explanation, first line first."""
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)
    group_id: str = ""
    """The alert group the decision is about, so notifiers thread it with the incident."""
    at: str = ""
    """RFC 3339 time of the decision."""
    follow_up: str = ""
    """What happens next, e.g. "verification in 300 s"."""
    phase_before: str = ""
    """The incident's phase before the decision (`remediate.incident.Phase`; "" from older senders)."""
    phase: str = ""
    """The incident's phase after it."""
    tell: bool = True
    """People hear of it (a reply in the incident's thread): the phase moved where netguard did or
    stopped doing something, or the cluster changed. Not every check."""
    changed: bool = True
    """The cluster changed (or, in dry-run, would have): worth a PagerDuty change event."""
    summary: str = ""
    """Before -> after in words, e.g. "CoreDNS 2 -> 4 replicas, on 1 -> 4 nodes"."""


@dataclass(frozen=True)
class EnrichedEvent:
    event_type: EventType
    event_id: str
    """Unique per published message: `<sns message id>#<part>` or the decision id."""
    group_id: str
    """`netguard.alerts.fingerprint.group_identity(...)`: identical for firing and resolved."""
    cluster: str
    status: str
    """"firing" or "resolved" (for remediation events, the status of the group it concerns)."""
    alertname: str = ""
    severity: str = ""
    part_index: int = 1
    part_count: int = 1
    group: GroupInfo = field(default_factory=GroupInfo)
    alerts: tuple[EnrichedAlert, ...] = ()
    enrichment_errors: tuple[EnrichmentError, ...] = ()
    source: SourceRef = field(default_factory=SourceRef)
    unparseable: UnparseableInfo | None = None
    remediation: RemediationReport | None = None
    created_at: str = ""
    schema: str = SCHEMA

    @property
    def remediable(self) -> bool:
        return any(a.diagnosis is not None and a.diagnosis.remediable for a in self.alerts)
