"""Enriched events to and from JSON, and the SNS message attributes that filter policies match."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, TypeVar

from netguard.alerts.models import frozen_map
from netguard.alerts.serialize import alert_from_dict, alert_to_dict
from netguard.enriched.models import (
    SCHEMA,
    ActionKind,
    Diagnosis,
    DnsContext,
    EnrichedAlert,
    EnrichedEvent,
    EnrichmentError,
    EventType,
    GroupInfo,
    InstanceInfo,
    NodeInfo,
    Outcome,
    RemediationReport,
    SourceRef,
    UnparseableInfo,
)
from netguard.errors import PermanentError

T = TypeVar("T")


class SchemaError(PermanentError):
    """A message on the enriched topic is not a netguard enriched event this version understands."""


def _plain(value: Any) -> Any:
    """Dataclasses, mappings and tuples to JSON-ready values (mapping proxies included)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _build(cls: type[T], data: Mapping[str, Any] | None) -> T | None:
    """A flat dataclass from a dict, ignoring unknown keys (fields may be added within a version)."""
    if data is None:
        return None
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
    return cls(**kwargs)


def event_to_dict(event: EnrichedEvent) -> dict[str, Any]:
    data = _plain(event)
    data["alerts"] = [{**_plain(a), "alert": alert_to_dict(a.alert)} for a in event.alerts]
    data["remediable"] = event.remediable
    return data  # type: ignore[no-any-return]


def report_to_dict(report: RemediationReport) -> dict[str, Any]:
    """A remediation report as JSON-ready data (the topic, the audit trail and the CLI share it)."""
    data: dict[str, Any] = _plain(report)
    return {**data, "action": report.action.value, "outcome": report.outcome.value}


def report_from_dict(data: Mapping[str, Any]) -> RemediationReport:
    """The inverse of `report_to_dict`; fields an older sender left out take their defaults."""
    return RemediationReport(
        decision_id=data["decision_id"],
        cluster=data.get("cluster", ""),
        action=ActionKind(data["action"]),
        outcome=Outcome(data["outcome"]),
        mode=data.get("mode", ""),
        reasons=tuple(data.get("reasons", ())),
        before=dict(data.get("before") or {}),
        after=dict(data.get("after") or {}),
        group_id=data.get("group_id", ""),
        at=data.get("at", ""),
        follow_up=data.get("follow_up", ""),
        phase_before=data.get("phase_before", ""),
        phase=data.get("phase", ""),
        tell=bool(data.get("tell", True)),
        changed=bool(data.get("changed", True)),
        summary=data.get("summary", ""),
    )


def event_to_json(event: EnrichedEvent) -> str:
    return json.dumps(event_to_dict(event), separators=(",", ":"), ensure_ascii=False)


def event_from_dict(data: Mapping[str, Any]) -> EnrichedEvent:
    schema = data.get("schema")
    if schema != SCHEMA:
        raise SchemaError(f"unsupported enriched event schema {schema!r}; this version reads {SCHEMA!r}")
    try:
        return _event_from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError(f"malformed enriched event: {exc!r}") from exc


def event_from_json(text: str) -> EnrichedEvent:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"enriched event is not JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(data, dict):
        raise SchemaError("enriched event is not a JSON object")
    return event_from_dict(data)


def _event_from_dict(data: Mapping[str, Any]) -> EnrichedEvent:
    group = data.get("group") or {}
    remediation = data.get("remediation")
    return EnrichedEvent(
        schema=data["schema"],
        event_type=EventType(data["event_type"]),
        event_id=data["event_id"],
        group_id=data.get("group_id", ""),
        cluster=data.get("cluster", ""),
        status=data.get("status", ""),
        alertname=data.get("alertname", ""),
        severity=data.get("severity", ""),
        part_index=int(data.get("part_index", 1)),
        part_count=int(data.get("part_count", 1)),
        group=GroupInfo(
            receiver=group.get("receiver", ""),
            source_format=group.get("source_format", ""),
            truncated=bool(group.get("truncated", False)),
            warnings=tuple(group.get("warnings", ())),
            group_key=group.get("group_key", ""),
            external_url=group.get("external_url", ""),
            group_labels=frozen_map(group.get("group_labels")),
            common_labels=frozen_map(group.get("common_labels")),
            common_annotations=frozen_map(group.get("common_annotations")),
        ),
        alerts=tuple(_alert_from_dict(a) for a in data.get("alerts", ())),
        enrichment_errors=tuple(
            e for e in (_build(EnrichmentError, x) for x in data.get("enrichment_errors", ())) if e
        ),
        source=_build(SourceRef, data.get("source")) or SourceRef(),
        unparseable=_build(UnparseableInfo, data.get("unparseable")),
        remediation=None if remediation is None else report_from_dict(remediation),
        created_at=data.get("created_at", ""),
    )


def _alert_from_dict(data: Mapping[str, Any]) -> EnrichedAlert:
    return EnrichedAlert(
        alert=alert_from_dict(data["alert"]),
        cluster=data.get("cluster", ""),
        instance=_build(InstanceInfo, data.get("instance")),
        node=_build(NodeInfo, data.get("node")),
        dns=_build(DnsContext, data.get("dns")),
        drop_rate_per_second=data.get("drop_rate_per_second"),
        graph_url=data.get("graph_url", ""),
        diagnosis=_build(Diagnosis, data.get("diagnosis")),
    )


def message_attributes(event: EnrichedEvent) -> dict[str, dict[str, str]]:
    """SNS message attributes for subscription filter policies (String or String.Array)."""
    allowances = sorted({a.alert.allowance.value for a in event.alerts})
    attributes = {
        "event_type": event.event_type.value,
        "status": event.status or "unknown",
        "cluster": event.cluster or "unknown",
        "alertname": event.alertname or "unknown",
        "severity": event.severity or "unknown",
        "remediable": "true" if event.remediable else "false",
    }
    encoded = {k: {"DataType": "String", "StringValue": v[:256]} for k, v in attributes.items()}
    if allowances:
        encoded["allowance"] = {"DataType": "String.Array", "StringValue": json.dumps(allowances)}
    if event.remediation is not None:
        encoded["action"] = {"DataType": "String", "StringValue": event.remediation.action.value}
        encoded["outcome"] = {"DataType": "String", "StringValue": event.remediation.outcome.value}
    return encoded
