"""What remediation reasons about: observations, the cluster snapshot, history, and decisions.

Plain frozen data, independent of `Settings` and of any client: `policy.decide` maps these to a
`Decision`, `safety` checks whether it may run, and `service` applies and records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from netguard.alerts.ordering import Seen
from netguard.enriched.models import ActionKind
from netguard.remediate.incident import Phase


class Trigger(StrEnum):
    """What started a run: an alert delivery, a scheduled follow-up check, or an operator."""

    ALERT = "alert"
    FOLLOW_UP = "follow_up"
    OPERATOR = "operator"


class DropStatus(StrEnum):
    """What is known about linklocal drops on one node right now."""

    PERSISTING = "persisting"
    """Drops have lasted at least the persistence gate."""
    TRANSIENT = "transient"
    """Drops are happening but have not lasted long enough to act on."""
    UNKNOWN = "unknown"
    """No usable data (missing metrics are never taken as recovery)."""
    RECOVERED = "recovered"
    """The alert resolved, or a fresh query shows no drops."""


def _frozen(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class Observation:
    """Linklocal drops on one node, as judged by the persistence gate."""

    node: str
    status: DropStatus
    drop_rate: float | None = None
    """Dropped packets per second when known (alert enrichment or a fresh query)."""
    linklocal_pps: float | None = None
    """Link-local packets per second leaving the node when a metric tells (e.g. CoreDNS's forward
    rate); else the policy takes 1024 + `drop_rate` (what went through plus what was dropped)."""
    since: float | None = None
    """Epoch seconds the drops are estimated to have started (alert start minus the rule's `for:`)."""
    bypass_pods: tuple[str, ...] = ()
    """`namespace/name` of pods on the node that use the VPC resolver directly."""
    evidence: str = ""
    """Plain words: where the status comes from."""


@dataclass(frozen=True)
class ClusterState:
    """A snapshot of cluster DNS taken under the remediation lock."""

    cluster: str
    now: float
    """Epoch seconds of the snapshot; the policy's only clock."""
    coredns_desired: int
    coredns_ready: int
    coredns_pods_by_node: Mapping[str, int]
    """Node name -> number of CoreDNS pods on it (pods not yet scheduled are left out)."""
    replica_owner: str
    """Who sets the replica count: deployment, eks-addon, cluster-proportional-autoscaler, hpa."""
    replica_floor: int
    """The owner's lower bound (Deployment replicas, add-on replicaCount/minReplicas, CPA min, HPA min)."""
    nodelocal_enabled: bool
    kube_proxy_mode: str
    """"iptables", "ipvs", or "" when unknown."""
    ready_nodes: int | None = None
    """Schedulable Ready nodes, i.e. how many network interfaces CoreDNS could spread over."""
    node_names: frozenset[str] = frozenset()
    """Every node of the cluster; empty when not listed (then every name is taken as a node)."""
    coredns_ready_by_node: Mapping[str, int] | None = None
    """Node name -> Ready CoreDNS pods on it (the ones the kube-dns Service sends queries to);
    None when unknown (then `coredns_pods_by_node` stands in)."""
    schedulable_nodes: frozenset[str] = frozenset()
    """Ready, schedulable nodes by name (where new or evicted replicas can go); empty when unknown."""
    spread_durable: bool = False
    """The pod spec already spreads CoreDNS one per node (topologySpreadConstraints on hostname or
    required anti-affinity), so an evicted replica cannot come back to the node it left."""

    @property
    def coredns_current(self) -> int:
        """The replica count a raise starts from: the larger of the floor and the desired count."""
        return max(self.replica_floor, self.coredns_desired)

    @property
    def coredns_distinct_nodes(self) -> int:
        return sum(1 for count in self.coredns_pods_by_node.values() if count > 0)

    def knows(self, node: str) -> bool:
        return not self.node_names or node in self.node_names

    def hosts_coredns(self, node: str) -> bool:
        return self.coredns_pods_by_node.get(node, 0) > 0


@dataclass(frozen=True)
class ActionRecord:
    """An action that changed (or, in dry-run, would have changed) the cluster."""

    action: ActionKind
    decision_id: str
    at: float
    mode: str
    applied: bool
    """False for dry-run: nothing changed."""
    drop_rate_before: float | None = None
    """Sum of the drop rates on CoreDNS nodes when it was decided, to judge whether it helped."""
    replicas_before: int | None = None
    replicas_after: int | None = None


@dataclass(frozen=True)
class NodeMemory:
    """The last thing alerts said about one node's drops (the follow-up's evidence without metrics)."""

    firing: bool
    since: float | None
    updated_at: float
    drop_rate: float | None = None
    instance: str = ""
    """The alert's `instance` label (`IP:port`), to match fresh query results."""
    bypass_pods: tuple[str, ...] = ()
    untimed: bool = False
    """Firing on the word of alerts without times (AMP's default text): persisting only while a
    fresh query confirms drops on the node."""


@dataclass(frozen=True)
class History:
    """Durable remediation state of one cluster (stored under `cluster#<name>` / `remediation`)."""

    cluster: str
    phase: Phase = Phase.IDLE
    """Where the incident stands; only `incident.transition` moves it."""
    last_action: ActionRecord | None = None
    """The last change decided and attempted (applied or dry-run)."""
    last_scale: ActionRecord | None = None
    """The last CoreDNS raise actually applied: the verification window and "did it help" start here."""
    cooldown_until: float = 0.0
    original_coredns: Mapping[str, Any] | None = None
    """The replica owner's values before netguard's first raise, for `restore` (revert)."""
    nodelocal_enabled_by_netguard: bool = False
    verification_attempts: int = 0
    """Follow-up checks since the last applied action."""
    resolved_at: float | None = None
    """When every known node last went quiet; None while drops persist."""
    group_id: str = ""
    """The alert group of the current incident, so reports thread with it."""
    alertname: str = ""
    nodes: Mapping[str, NodeMemory] = field(default_factory=_frozen)
    follow_up_id: str = ""
    """The one follow-up message that is current; any other one that arrives is superseded."""
    follow_up_due: float = 0.0
    """When that follow-up is due (a follow-up long overdue counts as lost)."""
    version: int = 0
    """The stored item's version (0: never stored)."""
    original_spread: Mapping[str, Any] | None = None
    """The pod-spec owner's spread values before netguard made the spread durable, for revert."""
    steps: int = 0
    """Changes applied in the current incident (reset when drops stop): bounds the escalation."""
    spread_pending: bool = False
    """A spread's evictions are still to do (new replicas not Ready yet, or a PodDisruptionBudget
    said wait): the next check finishes that action, so the cooldown does not hold it."""
    seen: Mapping[str, Seen] = field(default_factory=_frozen)
    """Per alert fingerprint, the newest state by the alerts' own times (`alerts.ordering`): a
    delivery older than it is stale and changes nothing."""
    stale_events: int = 0
    """Deliveries ignored as older than what was known (late redeliveries and retries)."""
    floor_set_by_netguard: int | None = None
    """The replica floor netguard's last raise set: a revert restores `original_coredns` only while
    the floor is still this value (someone may have changed it since)."""

    @property
    def changed_anything(self) -> bool:
        return (
            self.original_coredns is not None
            or self.nodelocal_enabled_by_netguard
            or self.original_spread is not None
        )


# --- decisions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleCoreDns:
    current: int
    target: int
    step: int
    reasons: tuple[str, ...]
    action: ActionKind = ActionKind.SCALE_COREDNS


@dataclass(frozen=True)
class EnableNodeLocal:
    reasons: tuple[str, ...]
    action: ActionKind = ActionKind.ENABLE_NODELOCAL


@dataclass(frozen=True)
class DisableNodeLocal:
    reasons: tuple[str, ...]
    action: ActionKind = ActionKind.DISABLE_NODELOCAL


@dataclass(frozen=True)
class RevertCoreDns:
    original: Mapping[str, Any]
    reasons: tuple[str, ...]
    expected_floor: int | None = None
    """The floor netguard set; when the cluster's floor differs, the revert leaves it as is."""
    action: ActionKind = ActionKind.REVERT_COREDNS


@dataclass(frozen=True)
class SpreadCoreDns:
    """Move CoreDNS replicas off nodes that carry more than `per_node` (first raising the count to
    `target` when `target > current`), and make the spread durable through the pod spec's owner."""

    current: int
    target: int
    evict: Mapping[str, int]
    """Node -> how many of its CoreDNS replicas to move off it."""
    reasons: tuple[str, ...]
    per_node: int = 1
    action: ActionKind = ActionKind.SPREAD_COREDNS


@dataclass(frozen=True)
class RevertSpread:
    original: Mapping[str, Any]
    reasons: tuple[str, ...]
    action: ActionKind = ActionKind.REVERT_SPREAD


@dataclass(frozen=True)
class GiveUp:
    """Automatic remediation stops: its step or check budget is spent and drops persist."""

    reasons: tuple[str, ...]
    action: ActionKind = ActionKind.GIVE_UP


@dataclass(frozen=True)
class Escalate:
    """Hand over to people: nothing safe is left to do automatically."""

    reasons: tuple[str, ...]
    refused: ActionKind | None = None
    """The action that would have been next but is unsafe here (e.g. NodeLocal DNSCache under IPVS)."""
    action: ActionKind = ActionKind.ESCALATE


@dataclass(frozen=True)
class NoAction:
    reasons: tuple[str, ...]
    """First line: why nothing is done; then any diagnosis."""
    action: ActionKind = ActionKind.NONE


Decision = (
    ScaleCoreDns
    | SpreadCoreDns
    | EnableNodeLocal
    | DisableNodeLocal
    | RevertCoreDns
    | RevertSpread
    | Escalate
    | GiveUp
    | NoAction
)
CHANGES: frozenset[ActionKind] = frozenset(
    {
        ActionKind.SCALE_COREDNS,
        ActionKind.SPREAD_COREDNS,
        ActionKind.REVERT_SPREAD,
        ActionKind.ENABLE_NODELOCAL,
        ActionKind.DISABLE_NODELOCAL,
        ActionKind.REVERT_COREDNS,
    }
)
"""Actions that write to the cluster (and so are subject to modes, the kill switch and the cooldown)."""
