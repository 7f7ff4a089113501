"""Link-local packets per node, before and after a candidate action: the policy's arithmetic.

Pure. The kube-dns Service spreads queries evenly over Ready CoreDNS replicas, so a node carries
(its Ready replicas / all Ready replicas) of the cluster's DNS load; a node that drops packets
sends at least the allowance plus what it drops. `policy` picks the smallest candidate whose
estimate keeps every CoreDNS node under the allowance with headroom.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from netguard.dns.models import CoreDnsPod
from netguard.remediate.models import ClusterState, Observation

Placement = Mapping[str, int]
"""Node -> CoreDNS replicas on it."""
ForwardRates = Callable[[str], Mapping[str, float] | None]
"""cluster -> {CoreDNS pod name: queries it forwards upstream per second}; None when nothing is known."""


@dataclass(frozen=True)
class Load:
    """The cluster's DNS load forwarded to the VPC resolver, as estimated from one node."""

    total_pps: float
    node: str
    """The node the estimate comes from (the one that implies the highest load)."""
    node_pps: float
    replicas_on_node: int
    replicas: int
    drop_rate: float | None
    measured: bool = False
    """True when the node's packets/s were measured, not inferred from drops."""

    def basis(self, allowance: float) -> str:
        if not self.measured and self.drop_rate is not None:
            seen = (
                f"{self.node} drops {self.drop_rate:.0f} pkt/s above the {allowance:.0f} pkt/s allowance,"
                f" so it sends ~{self.node_pps:.0f} pkt/s"
            )
        else:
            seen = f"{self.node} sends ~{self.node_pps:.0f} pkt/s (measured)"
        return (
            f"estimated DNS load ~{self.total_pps:.0f} pkt/s to the VPC resolver: {seen} with"
            f" {self.replicas_on_node} of {self.replicas} Ready CoreDNS replicas"
        )


@dataclass(frozen=True)
class Outlook:
    """A placement and the packets/s each CoreDNS node would send with it."""

    placement: Placement
    pps: Mapping[str, float]

    @property
    def worst(self) -> float:
        return max(self.pps.values(), default=0.0)

    @property
    def replicas(self) -> int:
        return sum(self.placement.values())


def ready_placement(state: ClusterState) -> dict[str, int]:
    """Where the Ready replicas run (the ones that take queries); all scheduled pods when unknown."""
    source = state.coredns_ready_by_node
    if source is None or sum(source.values()) == 0:
        source = state.coredns_pods_by_node
    return {node: n for node, n in source.items() if n > 0}


def estimate(state: ClusterState, observations: Sequence[Observation], allowance: float) -> Load | None:
    """Total DNS load implied by the CoreDNS nodes that drop; None when no rate is known."""
    placement = ready_placement(state)
    replicas = sum(placement.values())
    best: Load | None = None
    for obs in observations:
        on_node = placement.get(obs.node, 0)
        if on_node == 0 or replicas == 0:
            continue
        # Drops mean at least allowance + drops left the node; a measured rate can only raise that.
        floor = allowance + obs.drop_rate if obs.drop_rate is not None else None
        candidates = [v for v in (obs.linklocal_pps, floor) if v is not None]
        if not candidates:
            continue
        node_pps = max(candidates)
        load = Load(
            node_pps * replicas / on_node,
            obs.node,
            node_pps,
            on_node,
            replicas,
            obs.drop_rate,
            measured=obs.linklocal_pps is not None and node_pps == obs.linklocal_pps,
        )
        if best is None or load.total_pps > best.total_pps:
            best = load
    return best


def measured(
    observations: Sequence[Observation], pods: Sequence[CoreDnsPod], forwards: Mapping[str, float]
) -> tuple[Observation, ...]:
    """Observations with `linklocal_pps` from the CoreDNS pods' forward rates, for nodes where every
    running CoreDNS pod has one (a partial sum would understate the node's packets)."""
    by_node: dict[str, list[float | None]] = {}
    for pod in pods:
        if pod.node_name and pod.phase not in ("Succeeded", "Failed"):
            by_node.setdefault(pod.node_name, []).append(forwards.get(pod.name))
    result = []
    for obs in observations:
        rates = by_node.get(obs.node)
        if rates and all(r is not None for r in rates):
            result.append(replace(obs, linklocal_pps=sum(r for r in rates if r is not None)))
        else:
            result.append(obs)
    return tuple(result)


def nodes_for(state: ClusterState, placement: Placement) -> list[str]:
    """Nodes replicas can go to: the schedulable ones when known, else the ones in use plus
    `ready_nodes` minus those (named `+1`, `+2`...), else as many fresh ones as could be wanted."""
    if state.schedulable_nodes:
        return sorted(state.schedulable_nodes | set(placement))
    used = sorted(placement)
    free = (state.ready_nodes - len(used)) if state.ready_nodes is not None else 100
    return used + [f"+{i + 1}" for i in range(max(0, free))]


def outlook(placement: Placement, load: float) -> Outlook:
    replicas = sum(placement.values())
    per = load / replicas if replicas else 0.0
    return Outlook(dict(placement), {node: n * per for node, n in placement.items() if n > 0})


def add_replicas(placement: Placement, count: int, nodes: Sequence[str]) -> dict[str, int]:
    """`count` new replicas placed as the scheduler does with CoreDNS's preferred anti-affinity:
    each on a node with the fewest replicas (nodes without CoreDNS first)."""
    result = {node: placement.get(node, 0) for node in nodes}
    for node, n in placement.items():
        result.setdefault(node, n)
    for _ in range(count):
        if not result:
            break
        target = min(sorted(result), key=lambda node: result[node])
        result[target] += 1
    return {node: n for node, n in result.items() if n > 0}


def spread(placement: Placement, nodes: Sequence[str]) -> tuple[dict[str, int], dict[str, int]]:
    """The same replicas, at most ceil(replicas / nodes) per node: (new placement, evictions per node).
    Only the extras move, so the fewest pods are evicted."""
    replicas = sum(placement.values())
    pool = set(nodes) | set(placement)
    cap = max(1, math.ceil(replicas / max(1, len(pool))))
    evict = {node: n - cap for node, n in placement.items() if n > cap}
    kept = {node: min(n, cap) for node, n in placement.items()}
    return add_replicas(kept, sum(evict.values()), sorted(pool)), evict


def per_node_cap(placement: Placement, nodes: Sequence[str]) -> int:
    pool = set(nodes) | set(placement)
    return max(1, math.ceil(sum(placement.values()) / max(1, len(pool))))


def describe(before: Outlook, after: Outlook, *, limit: int = 8) -> tuple[str, ...]:
    """One line per node that carries CoreDNS before or after, hottest first:
    "node a: 2 of 2 replicas, ~3000 pkt/s → after: 1 of 4, ~750 pkt/s"."""
    names = sorted(
        set(before.placement) | set(after.placement),
        key=lambda n: (-before.pps.get(n, 0.0), -after.pps.get(n, 0.0), n),
    )
    lines = []
    for node in names[:limit]:
        label = "a node without CoreDNS" if node.startswith("+") else f"node {node}"
        lines.append(
            f"{label}: {before.placement.get(node, 0)} of {before.replicas} replicas,"
            f" ~{before.pps.get(node, 0.0):.0f} pkt/s → after: {after.placement.get(node, 0)} of"
            f" {after.replicas}, ~{after.pps.get(node, 0.0):.0f} pkt/s"
        )
    if len(names) > limit:
        lines.append(f"... and {len(names) - limit} more nodes")
    return tuple(lines)
