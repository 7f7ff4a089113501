"""Alerts and groups as plain JSON-ready dicts (the `netguard parse` output and the enriched event).

Times are RFC 3339; Alertmanager's zero time and unknown times are null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from netguard.alerts.models import Alert, AlertGroup, AllowanceKind, SourceFormat, Status, frozen_map


def rfc3339(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def parse_rfc3339(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status.value,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "starts_at": rfc3339(alert.starts_at),
        "ends_at": rfc3339(alert.ends_at),
        "fingerprint": alert.fingerprint,
        "generator_url": alert.generator_url,
        "allowance": alert.allowance.value,
        "ambiguous": alert.ambiguous,
        "ambiguity": alert.ambiguity,
    }


def alert_from_dict(data: Mapping[str, Any]) -> Alert:
    return Alert(
        status=Status(data["status"]),
        labels=frozen_map(data.get("labels")),
        annotations=frozen_map(data.get("annotations")),
        starts_at=parse_rfc3339(data.get("starts_at")),
        ends_at=parse_rfc3339(data.get("ends_at")),
        generator_url=data.get("generator_url", ""),
        fingerprint=data["fingerprint"],
        allowance=AllowanceKind(data.get("allowance", "unknown")),
        ambiguity=str(data.get("ambiguity") or ""),
    )


def group_to_dict(group: AlertGroup) -> dict[str, Any]:
    return {
        "format": group.source_format.value,
        "status": group.status.value,
        "receiver": group.receiver,
        "truncated": group.truncated,
        "warnings": list(group.warnings),
        "group_key": group.group_key,
        "external_url": group.external_url,
        "group_labels": dict(group.group_labels),
        "common_labels": dict(group.common_labels),
        "common_annotations": dict(group.common_annotations),
        "alerts": [alert_to_dict(a) for a in group.alerts],
        "reported_count": group.reported_count,
    }


def group_from_dict(data: Mapping[str, Any]) -> AlertGroup:
    return AlertGroup(
        receiver=data.get("receiver", ""),
        status=Status(data["status"]),
        group_labels=frozen_map(data.get("group_labels")),
        common_labels=frozen_map(data.get("common_labels")),
        common_annotations=frozen_map(data.get("common_annotations")),
        alerts=tuple(alert_from_dict(a) for a in data.get("alerts", [])),
        source_format=SourceFormat(data["format"]),
        truncated=bool(data.get("truncated", False)),
        warnings=tuple(data.get("warnings", [])),
        external_url=data.get("external_url", ""),
        group_key=data.get("group_key", ""),
        reported_count=data.get("reported_count"),
    )
