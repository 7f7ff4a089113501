"""Enriched events to bounded `GroupDigest`s, merging of parts, and the digest's JSON form.

Pure functions. The caps keep a storm of thousands of alerts within Slack's and PagerDuty's limits
and within one state-table item, while counts stay exact.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from netguard.enriched.models import EnrichedAlert, EnrichedEvent
from netguard.notify.models import AlertRow, DnsFacts, GroupDigest, Json

ROW_LIMIT = 20
"""Alert rows kept per digest (messages show fewer)."""
MAP_LIMIT = 50
"""Entries kept in each count map (nodes, instance types, zones, diagnoses)."""
EXAMPLE_LIMIT = 5
TEXT_LIMIT = 500


def _clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _top(counts: Mapping[str, int], limit: int = MAP_LIMIT) -> dict[str, int]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(ordered[:limit])


def _node_of(item: EnrichedAlert) -> str:
    if item.node is not None and item.node.name:
        return item.node.name
    labels = item.alert.labels
    return labels.get("node") or labels.get("nodename") or labels.get("kubernetes_node") or ""


def _instance_of(item: EnrichedAlert) -> tuple[str, str, str]:
    instance = item.instance
    node = item.node
    instance_id = instance.instance_id if instance else item.alert.labels.get("instance_id", "")
    instance_type = (instance.instance_type if instance else "") or (node.instance_type if node else "")
    zone = (instance.availability_zone if instance else "") or (node.zone if node else "")
    return instance_id, instance_type, zone


def source_of(item: EnrichedAlert) -> str:
    """Where an alert happens, for PagerDuty's `source`: node, else instance id, else the instance label."""
    instance_id, _, _ = _instance_of(item)
    return _node_of(item) or instance_id or item.alert.labels.get("instance", "")


def _row(item: EnrichedAlert) -> AlertRow:
    instance_id, instance_type, zone = _instance_of(item)
    alert = item.alert
    return AlertRow(
        fingerprint=alert.fingerprint,
        alertname=alert.name,
        kind=alert.allowance.value,
        status=alert.status.value,
        node=_node_of(item),
        instance_id=instance_id,
        instance_type=instance_type,
        zone=zone,
        drop_rate=item.drop_rate_per_second,
        graph_url=item.graph_url,
        summary=_clip(alert.annotations.get("summary", ""), 300),
        ambiguous=alert.ambiguous,
    )


def _dns_facts(alerts: Iterable[EnrichedAlert]) -> DnsFacts | None:
    with_dns = [a.dns for a in alerts if a.dns is not None]
    if not with_dns:
        return None
    first = with_dns[0]
    bypass = sorted({p for d in with_dns for p in d.dns_bypass_pods})
    return DnsFacts(
        coredns_replicas=first.coredns_replicas,
        coredns_ready=first.coredns_ready,
        coredns_distinct_nodes=first.coredns_distinct_nodes,
        replica_owner=first.replica_owner,
        nodelocal_dns_enabled=first.nodelocal_dns_enabled,
        kube_proxy_mode=first.kube_proxy_mode,
        bypass_pods=len(bypass),
        bypass_examples=tuple(bypass[:EXAMPLE_LIMIT]),
    )


def _first(values: Iterable[str]) -> str:
    return next((v for v in values if v), "")


def digest_event(event: EnrichedEvent) -> GroupDigest:
    """The digest of one alert-group event (one part of a group)."""
    alerts = event.alerts
    common = event.group.common_annotations
    rates = [a.drop_rate_per_second for a in alerts if a.drop_rate_per_second is not None]
    nodes = Counter(n for n in (_node_of(a) for a in alerts) if n)
    diagnoses = Counter(_clip(a.diagnosis.summary, 300) for a in alerts if a.diagnosis is not None)
    details = next(
        (a.diagnosis.details for a in alerts if a.diagnosis is not None and a.diagnosis.details), ()
    )
    starts = sorted(a.alert.starts_at.isoformat() for a in alerts if a.alert.starts_at is not None)
    errors = event.enrichment_errors
    return GroupDigest(
        group_id=event.group_id,
        cluster=event.cluster,
        alertname=event.alertname,
        severity=event.severity,
        status=event.status,
        summary=_clip(
            common.get("summary") or _first(a.alert.annotations.get("summary", "") for a in alerts)
        ),
        description=_clip(common.get("description", "")),
        total=len(alerts),
        firing=sum(1 for a in alerts if a.alert.status.value == "firing"),
        resolved=sum(1 for a in alerts if a.alert.status.value == "resolved"),
        kinds=_top(Counter(a.alert.allowance.value for a in alerts)),
        nodes=_top(nodes),
        node_count=len(nodes),
        instance_types=_top(Counter(t for t in (_instance_of(a)[1] for a in alerts) if t)),
        zones=_top(Counter(z for z in (_instance_of(a)[2] for a in alerts) if z)),
        rows=tuple(_row(a) for a in alerts[:ROW_LIMIT]),
        diagnoses=_top(diagnoses),
        diagnosis_details=tuple(_clip(d, 300) for d in details[:EXAMPLE_LIMIT]),
        remediable=event.remediable,
        dns=_dns_facts(alerts),
        max_drop_rate=max(rates) if rates else None,
        graph_url=_first(a.graph_url for a in alerts),
        runbook_url=common.get("runbook_url")
        or _first(a.alert.annotations.get("runbook_url", "") for a in alerts),
        generator_url=_first(a.alert.generator_url for a in alerts),
        group_labels=dict(event.group.group_labels),
        enrichment_errors=len(errors),
        enrichment_error_examples=tuple(
            _clip(f"{e.source}: {e.message}", 200) for e in errors[:EXAMPLE_LIMIT]
        ),
        warnings=tuple(_clip(w, 200) for w in event.group.warnings[:EXAMPLE_LIMIT]),
        truncated=event.group.truncated,
        ambiguous=sum(1 for a in alerts if a.alert.ambiguous),
        ambiguity_example=_clip(_first(a.alert.ambiguity for a in alerts), 200),
        parts=(event.part_index,),
        part_count=event.part_count,
        started_at=starts[0] if starts else "",
    )


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return _top(Counter(a) + Counter(b))


def merge(digests: Iterable[GroupDigest]) -> GroupDigest:
    """One digest for several parts of the same group and status (order: by part index)."""
    ordered = sorted(digests, key=lambda d: d.parts)
    if not ordered:
        raise ValueError("merge needs at least one digest")
    result = ordered[0]
    for other in ordered[1:]:
        rates = [r for r in (result.max_drop_rate, other.max_drop_rate) if r is not None]
        nodes = _add(result.nodes, other.nodes)
        result = dataclasses.replace(
            result,
            summary=result.summary or other.summary,
            description=result.description or other.description,
            total=result.total + other.total,
            firing=result.firing + other.firing,
            resolved=result.resolved + other.resolved,
            kinds=_add(result.kinds, other.kinds),
            nodes=nodes,
            node_count=max(
                len(nodes), result.node_count + other.node_count - len(set(result.nodes) & set(other.nodes))
            ),
            instance_types=_add(result.instance_types, other.instance_types),
            zones=_add(result.zones, other.zones),
            rows=(result.rows + other.rows)[:ROW_LIMIT],
            diagnoses=_add(result.diagnoses, other.diagnoses),
            diagnosis_details=result.diagnosis_details or other.diagnosis_details,
            remediable=result.remediable or other.remediable,
            dns=result.dns or other.dns,
            max_drop_rate=max(rates) if rates else None,
            graph_url=result.graph_url or other.graph_url,
            runbook_url=result.runbook_url or other.runbook_url,
            generator_url=result.generator_url or other.generator_url,
            enrichment_errors=result.enrichment_errors + other.enrichment_errors,
            enrichment_error_examples=(result.enrichment_error_examples + other.enrichment_error_examples)[
                :EXAMPLE_LIMIT
            ],
            warnings=tuple(dict.fromkeys(result.warnings + other.warnings))[:EXAMPLE_LIMIT],
            truncated=result.truncated or other.truncated,
            ambiguous=result.ambiguous + other.ambiguous,
            ambiguity_example=result.ambiguity_example or other.ambiguity_example,
            parts=tuple(sorted(set(result.parts) | set(other.parts))),
            part_count=max(result.part_count, other.part_count),
            started_at=min(s for s in (result.started_at, other.started_at) if s)
            if (result.started_at or other.started_at)
            else "",
        )
    return result


def digest_to_dict(digest: GroupDigest) -> Json:
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value

    return plain(digest)  # type: ignore[no-any-return]


def _tuple_if_list(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def digest_from_dict(data: Mapping[str, Any]) -> GroupDigest:
    names = {f.name for f in dataclasses.fields(GroupDigest)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in names:
            continue
        value: Any = raw
        if key == "rows":
            value = tuple(AlertRow(**row) for row in raw)
        elif key == "dns":
            value = None if value is None else DnsFacts(**{k: _tuple_if_list(v) for k, v in value.items()})
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = dict(value)
        values[key] = value
    return GroupDigest(**values)
