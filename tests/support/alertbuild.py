"""Builders for alerts and groups in enrichment tests (plain data, no parsing). Not a fixture module."""

from __future__ import annotations

from datetime import UTC, datetime

from netguard.alerts.fingerprint import fingerprint
from netguard.alerts.models import Alert, AlertGroup, AllowanceKind, SourceFormat, Status, frozen_map

STAT = {
    AllowanceKind.LINKLOCAL: "linklocal_allowance_exceeded",
    AllowanceKind.PPS: "pps_allowance_exceeded",
    AllowanceKind.BW_IN: "bw_in_allowance_exceeded",
    AllowanceKind.BW_OUT: "bw_out_allowance_exceeded",
    AllowanceKind.CONNTRACK: "conntrack_allowance_exceeded",
    AllowanceKind.CONNTRACK_AVAILABLE: "conntrack_allowance_available",
}


def alert(
    labels: dict[str, str] | None = None,
    *,
    kind: AllowanceKind = AllowanceKind.LINKLOCAL,
    status: Status = Status.FIRING,
    annotations: dict[str, str] | None = None,
    alertname: str = "DnsThrottling",
) -> Alert:
    full = {"alertname": alertname, "severity": "warning", "type": STAT.get(kind, "other"), **(labels or {})}
    return Alert(
        status=status,
        labels=frozen_map(full),
        annotations=frozen_map(annotations or {"summary": "link-local packets dropped"}),
        starts_at=datetime(2026, 11, 25, 20, 0, tzinfo=UTC),
        ends_at=None if status is Status.FIRING else datetime(2026, 11, 25, 21, 0, tzinfo=UTC),
        generator_url="http://prometheus/graph",
        fingerprint=fingerprint(full),
        allowance=kind,
    )


def group(*alerts: Alert, status: Status = Status.FIRING, common: dict[str, str] | None = None) -> AlertGroup:
    name = alerts[0].name if alerts else "DnsThrottling"
    return AlertGroup(
        receiver="sns",
        status=status,
        group_labels=frozen_map({"alertname": name}),
        common_labels=frozen_map(common if common is not None else {"alertname": name}),
        common_annotations=frozen_map({}),
        alerts=tuple(alerts),
        source_format=SourceFormat.JSON,
    )
