"""The persistence gate: from alerts (and an optional fresh PromQL check) to per-node drop status.

Only alerts of the operator's remediation rules count (`trusted`): named in configuration, carrying
the rule's label, classified linklocal, and read unambiguously. Drops count as persisting when the
alert's start, minus the rule's configured `for:`, lies at least `persistence_seconds` in the past.
A fresh query can show drops stopped (rate 0); a query with no answer is "unknown", never
"recovered", because in a DNS incident the metrics pipeline may fail too. An alert without times
moves nothing until a fresh query confirms drops on its node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from netguard.alerts.models import AllowanceKind, Status
from netguard.config.remediate import RemediationRules
from netguard.enriched.models import EnrichedAlert
from netguard.remediate.models import DropStatus, NodeMemory, Observation

FreshRates = Callable[[str, Mapping[str, str]], Mapping[str, float | None]]
"""(cluster, `{node: instance label}`) -> `{node: drops per second}`; None (or absent) where there is
no data. The query is scoped to the cluster when the deployment names a cluster label."""

NODE_LABELS = ("node", "kubernetes_node", "nodename", "node_name")


def untrusted_reason(alert: EnrichedAlert, rules: RemediationRules) -> str:
    """Why remediation does not act for an alert ("" when it may): only the operator's rules count,
    and only alerts whose counter is linklocal by name and whose reading is unambiguous."""
    item = alert.alert
    if not rules.matches(item.name, item.labels):
        return "not_our_rule"
    if item.ambiguous:
        return "ambiguous"
    if item.allowance is not AllowanceKind.LINKLOCAL:
        return "not_linklocal"
    return ""


def node_of(alert: EnrichedAlert) -> str:
    """The node an alert is about: the enriched node, else a node label, else the `instance` label."""
    if alert.node is not None and alert.node.name:
        return alert.node.name
    labels = alert.alert.labels
    for key in NODE_LABELS:
        if labels.get(key):
            return labels[key]
    return labels.get("instance", "")


def memory_from_alerts(
    alerts: Sequence[EnrichedAlert], *, now: float, rules: RemediationRules
) -> dict[str, NodeMemory]:
    """What a group's trusted alerts say per node; several alerts on one node (devices) are combined.
    The `for:` is the configured rule's, never one the alert carries."""
    result: dict[str, NodeMemory] = {}
    for alert in alerts:
        if untrusted_reason(alert, rules):
            continue
        node = node_of(alert)
        if not node:
            continue
        firing = alert.alert.status is Status.FIRING
        untimed = alert.alert.starts_at is None
        start = alert.alert.starts_at.timestamp() if alert.alert.starts_at is not None else now
        since = start - rules.for_seconds.get(alert.alert.name, 0.0) if firing else None
        entry = NodeMemory(
            untimed=untimed and firing,
            firing=firing,
            since=since,
            updated_at=now,
            drop_rate=alert.drop_rate_per_second if firing else 0.0,
            instance=alert.alert.labels.get("instance", ""),
            bypass_pods=alert.dns.dns_bypass_pods if alert.dns is not None else (),
        )
        previous = result.get(node)
        result[node] = entry if previous is None else _combine(previous, entry)
    return result


def _combine(a: NodeMemory, b: NodeMemory) -> NodeMemory:
    firing = a.firing or b.firing
    starts = [m.since for m in (a, b) if m.firing and m.since is not None]
    rates = [m.drop_rate for m in (a, b) if m.firing]
    rate = None if not rates or any(r is None for r in rates) else sum(r for r in rates if r is not None)
    return NodeMemory(
        untimed=all(m.untimed for m in (a, b) if m.firing) if firing else False,
        firing=firing,
        since=min(starts) if starts else None,
        updated_at=max(a.updated_at, b.updated_at),
        drop_rate=rate if firing else 0.0,
        instance=a.instance or b.instance,
        bypass_pods=tuple(dict.fromkeys((*a.bypass_pods, *b.bypass_pods))),
    )


def merge_memory(
    memory: Mapping[str, NodeMemory],
    update: Mapping[str, NodeMemory],
    *,
    now: float,
    retention_seconds: float,
) -> dict[str, NodeMemory]:
    """Memory updated with new evidence; a node that keeps firing keeps its earliest start.

    Entries not updated within `retention_seconds` are forgotten.
    """
    merged = {node: m for node, m in memory.items() if now - m.updated_at < retention_seconds}
    for node, fresh in update.items():
        old, new = merged.get(node), fresh
        if old is not None and old.firing and new.firing and old.since is not None and new.since is not None:
            new = NodeMemory(
                untimed=old.untimed and new.untimed,
                firing=True,
                since=min(old.since, new.since),
                updated_at=new.updated_at,
                drop_rate=new.drop_rate,
                instance=new.instance or old.instance,
                bypass_pods=new.bypass_pods or old.bypass_pods,
            )
        merged[node] = new
    return merged


def observe(
    memory: Mapping[str, NodeMemory],
    *,
    now: float,
    persistence_seconds: float,
    fresh: Mapping[str, float | None] | None = None,
) -> tuple[Observation, ...]:
    """Per-node drop status. `fresh` is None when no query endpoint is configured."""
    observations = []
    for node in sorted(memory):
        entry = memory[node]
        rate = fresh.get(node) if fresh is not None else None
        observations.append(
            _observe_node(
                node, entry, now=now, persistence=persistence_seconds, checked=fresh is not None, rate=rate
            )
        )
    return tuple(observations)


def _observe_node(
    node: str, entry: NodeMemory, *, now: float, persistence: float, checked: bool, rate: float | None
) -> Observation:
    def make(status: DropStatus, evidence: str, drop_rate: float | None) -> Observation:
        return Observation(
            node=node,
            status=status,
            drop_rate=drop_rate,
            since=entry.since,
            bypass_pods=entry.bypass_pods,
            evidence=evidence,
        )

    if not entry.firing:
        if checked and rate is None:
            return make(
                DropStatus.UNKNOWN, "alert resolved but the fresh query has no data for the node", None
            )
        return make(DropStatus.RECOVERED, "alert resolved", 0.0)
    if checked and rate is not None and rate <= 0:
        return make(DropStatus.RECOVERED, "alert still firing, but a fresh query shows 0 drops/s", 0.0)
    lasted = now - entry.since if entry.since is not None else 0.0
    note = (
        ""
        if not checked
        else (
            f"; fresh query: {rate:.1f} drops/s"
            if rate is not None
            else "; fresh query has no data (unknown, not taken as recovery)"
        )
    )
    drop_rate = rate if rate is not None else entry.drop_rate
    if entry.untimed and not (checked and rate is not None):
        # Without times an alert may be a late redelivery of one already resolved: only a fresh
        # query that shows drops on the node now lets it move remediation.
        return make(
            DropStatus.UNKNOWN,
            "alert carries no times (ordered by arrival): waiting for a fresh query to confirm drops" + note,
            drop_rate,
        )
    if entry.since is None:
        return make(DropStatus.UNKNOWN, "alert firing with no start time" + note, drop_rate)
    if lasted >= persistence:
        return make(
            DropStatus.PERSISTING, f"drops for {int(lasted)} s (gate {int(persistence)} s){note}", drop_rate
        )
    return make(
        DropStatus.TRANSIENT, f"drops for {int(lasted)} s of the {int(persistence)} s gate{note}", drop_rate
    )
