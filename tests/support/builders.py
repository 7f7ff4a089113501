"""Builders of enriched events for tests (and for the `events/enriched-*.json` samples).

Every builder takes keyword overrides and fills the rest with plausible EKS/EC2 data, so a test says
only what it is about. Other helpers may add builders here; keep them pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from netguard.alerts.fingerprint import fingerprint, group_identity
from netguard.alerts.models import Alert, AllowanceKind, Status, frozen_map
from netguard.enriched import (
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
    event_to_json,
)

CLUSTER = "prod-eks"
STARTS = datetime(2026, 11, 25, 20, 36, 41, tzinfo=UTC)
ALERTNAMES = {
    AllowanceKind.LINKLOCAL: "LinkLocalAllowanceExceeded",
    AllowanceKind.PPS: "PpsAllowanceExceeded",
    AllowanceKind.BW_IN: "BwInAllowanceExceeded",
    AllowanceKind.BW_OUT: "BwOutAllowanceExceeded",
    AllowanceKind.CONNTRACK: "ConntrackAllowanceExceeded",
}


def alert(
    *,
    node: str = "ip-10-0-1-23.ec2.internal",
    kind: AllowanceKind = AllowanceKind.LINKLOCAL,
    status: Status = Status.FIRING,
    cluster: str = CLUSTER,
    severity: str = "critical",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    starts_at: datetime | None = STARTS,
) -> Alert:
    """`starts_at=None`: an alert without times, as AMP's default text gives it."""
    names = {
        "alertname": ALERTNAMES.get(kind, "NetworkAllowanceExceeded"),
        "cluster": cluster,
        "severity": severity,
        "instance": f"{node}:9417",
        "node": node,
        "device": "eth0",
        **(labels or {}),
    }
    notes = {
        "summary": f"{kind.value} allowance exceeded on {node}",
        "runbook_url": "https://runbooks.example.com/netguard/linklocal",
        **(annotations or {}),
    }
    return Alert(
        status=status,
        labels=frozen_map(names),
        annotations=frozen_map(notes),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=15) if status is Status.RESOLVED and starts_at else None,
        generator_url="http://prometheus.example.com/graph?g0.expr=rate%28node_net_ethtool%5B1m%5D%29",
        fingerprint=fingerprint(names),
        allowance=kind,
    )


def enriched_alert(
    *,
    node: str = "ip-10-0-1-23.ec2.internal",
    instance_id: str = "i-0abc1234def567890",
    instance_type: str = "m5.large",
    zone: str = "us-east-1a",
    drop_rate: float | None = 1234.5,
    dns: DnsContext | None = None,
    diagnosis: Diagnosis | None = None,
    **alert_kwargs: Any,
) -> EnrichedAlert:
    the_alert = alert(node=node, **alert_kwargs)
    return EnrichedAlert(
        alert=the_alert,
        cluster=the_alert.labels.get("cluster", CLUSTER),
        instance=InstanceInfo(
            instance_id=instance_id,
            instance_type=instance_type,
            availability_zone=zone,
            private_ip="10.0.1.23",
            network_performance="Up to 10 Gigabit",
            ena_support="required",
        ),
        node=NodeInfo(name=node, internal_ip="10.0.1.23", instance_type=instance_type, zone=zone, ready=True),
        dns=dns
        if dns is not None
        else DnsContext(
            coredns_replicas=2,
            coredns_ready=2,
            coredns_distinct_nodes=1,
            coredns_pods_on_node=("kube-system/coredns-5d78c9869d-abcde",),
            replica_owner="eks-addon",
            nodelocal_dns_enabled=False,
            kube_proxy_mode="iptables",
            dns_bypass_pods=("monitoring/node-exporter-x1",),
            dns_servers_on_node=("kube-system/coredns-5d78c9869d-abcde",),
        ),
        drop_rate_per_second=drop_rate,
        graph_url=f"https://grafana.example.com/d/netguard?var-node={node}",
        diagnosis=diagnosis
        if diagnosis is not None
        else Diagnosis(
            summary="DNS queries to the VPC resolver are throttled (1024 pps per ENI)",
            details=("both CoreDNS replicas run on one node, so one network interface",),
            remediable=True,
        ),
    )


def alert_group(
    *,
    alerts: Sequence[EnrichedAlert] | None = None,
    status: str = "firing",
    cluster: str = CLUSTER,
    alertname: str = "LinkLocalAllowanceExceeded",
    severity: str = "critical",
    event_id: str = "11111111-2222-3333-4444-555555555555#1",
    part_index: int = 1,
    part_count: int = 1,
    enrichment_errors: Sequence[EnrichmentError] = (),
    group_labels: Mapping[str, str] | None = None,
) -> EnrichedEvent:
    """An alert-group event; alerts default to one firing (or resolved) link-local alert."""
    labels = dict(group_labels) if group_labels is not None else {"alertname": alertname, "cluster": cluster}
    alert_status = Status.RESOLVED if status == "resolved" else Status.FIRING
    items = tuple(alerts) if alerts is not None else (enriched_alert(status=alert_status, cluster=cluster),)
    return EnrichedEvent(
        event_type=EventType.ALERT_GROUP,
        event_id=event_id,
        group_id=group_identity(cluster, alertname, labels),
        cluster=cluster,
        status=status,
        alertname=alertname,
        severity=severity,
        part_index=part_index,
        part_count=part_count,
        group=GroupInfo(
            receiver="netguard-sns",
            source_format="amp_json",
            group_key='{}:{alertname="' + alertname + '"}',
            external_url="http://alertmanager.example.com",
            group_labels=frozen_map(labels),
            common_labels=frozen_map({**labels, "severity": severity}),
            common_annotations=frozen_map({"runbook_url": "https://runbooks.example.com/netguard/linklocal"}),
        ),
        alerts=items,
        enrichment_errors=tuple(enrichment_errors),
        source=SourceRef(
            message_id=event_id.split("#", maxsplit=1)[0],
            topic_arn="arn:aws:sns:us-east-1:123456789012:netguard-alerts",
            subject=f"[{status.upper()}:{len(items)}] {alertname}",
            timestamp="2026-11-25T20:37:00.000Z",
        ),
        created_at="2026-11-25T20:37:01Z",
    )


def storm(count: int, *, status: str = "firing", nodes: int = 300, **kwargs: Any) -> EnrichedEvent:
    """A group of `count` alerts of mixed kinds over `nodes` nodes (an alert storm)."""
    kinds = [k for k in AllowanceKind if k in ALERTNAMES]
    alert_status = Status.RESOLVED if status == "resolved" else Status.FIRING
    items = [
        enriched_alert(
            node=f"ip-10-0-{i % nodes // 250}-{i % nodes % 250}.ec2.internal",
            instance_id=f"i-{i:017x}",
            kind=kinds[i % len(kinds)],
            labels={"device": f"eth{i // nodes}"},
            drop_rate=float(i),
            status=alert_status,
        )
        for i in range(count)
    ]
    return alert_group(alerts=items, status=status, **kwargs)


def split(event: EnrichedEvent, parts: int) -> list[EnrichedEvent]:
    """The event cut into `parts` numbered parts, as enrich publishes groups too large for SNS."""
    size = -(-len(event.alerts) // parts)
    message_id = event.event_id.split("#", maxsplit=1)[0]
    return [
        replace(
            event,
            alerts=event.alerts[i * size : (i + 1) * size],
            part_index=i + 1,
            part_count=parts,
            event_id=f"{message_id}#{i + 1}",
        )
        for i in range(parts)
    ]


def remediation(
    *,
    group_id: str = "",
    cluster: str = CLUSTER,
    action: ActionKind = ActionKind.SCALE_COREDNS,
    outcome: Outcome = Outcome.APPLIED,
    decision_id: str = "dec-0001",
    tell: bool = True,
    changed: bool = True,
) -> EnrichedEvent:
    gid = group_id or alert_group().group_id
    report = RemediationReport(
        decision_id=decision_id,
        cluster=cluster,
        action=action,
        outcome=outcome,
        mode="enforce",
        reasons=("CoreDNS pods share one node; spreading them over more interfaces",),
        before={"replicas": 2},
        after={"replicas": 3},
        group_id=gid,
        at="2026-11-25T20:38:00Z",
        follow_up="verification in 300 s",
        phase_before="holding",
        phase="verifying",
        tell=tell,
        changed=changed,
        summary="CoreDNS 2 → 3 replicas, on 1 → 3 nodes",
    )
    return EnrichedEvent(
        event_type=EventType.REMEDIATION,
        event_id=decision_id,
        group_id=gid,
        cluster=cluster,
        status="firing",
        remediation=report,
        created_at="2026-11-25T20:38:00Z",
    )


def unparseable(
    *, event_id: str = "99999999-0000-0000-0000-000000000000#1", reason: str = ""
) -> EnrichedEvent:
    return EnrichedEvent(
        event_type=EventType.UNPARSEABLE,
        event_id=event_id,
        group_id="",
        cluster="",
        status="",
        unparseable=UnparseableInfo(
            reason=reason or "no known alert format matched (not JSON, no 'Alerts Firing:' block)",
            raw_size=27,
            raw_preview="hello from a misconfigured publisher",
        ),
        source=SourceRef(
            message_id=event_id.split("#", maxsplit=1)[0],
            topic_arn="arn:aws:sns:us-east-1:123456789012:netguard-alerts",
            subject="test",
        ),
    )


def sns_event(*events: EnrichedEvent, message_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """A Lambda event from the enriched topic carrying the given enriched events, one record each."""
    records = []
    for index, event in enumerate(events):
        message_id = message_ids[index] if message_ids else f"sns-{event.event_id}"
        records.append(
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:netguard-enriched:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:netguard-enriched",
                    "Subject": None,
                    "Message": event_to_json(event),
                    "Timestamp": "2026-11-25T20:37:02.000Z",
                    "MessageAttributes": {},
                },
            }
        )
    return {"Records": records}


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def enriched_samples() -> dict[str, dict[str, Any]]:
    """The `events/enriched-*.json` samples (regenerate with `python -m tests.support.builders`)."""
    firing = alert_group(
        alerts=[
            enriched_alert(),
            enriched_alert(node="ip-10-0-2-7.ec2.internal", instance_id="i-0def", zone="us-east-1b"),
        ],
    )
    parts = split(
        storm(
            40, nodes=8, alertname="NetworkAllowanceStorm", event_id="33333333-0000-0000-0000-000000000000#1"
        ),
        2,
    )
    return {
        "enriched-firing": sns_event(firing),
        "enriched-resolved": sns_event(
            alert_group(
                alerts=[
                    enriched_alert(status=Status.RESOLVED),
                    enriched_alert(
                        node="ip-10-0-2-7.ec2.internal",
                        instance_id="i-0def",
                        zone="us-east-1b",
                        status=Status.RESOLVED,
                    ),
                ],
                status="resolved",
                event_id="22222222-0000-0000-0000-000000000000#1",
            )
        ),
        "enriched-part-1-of-2": sns_event(parts[0]),
        "enriched-part-2-of-2": sns_event(parts[1]),
        "enriched-remediation": sns_event(remediation(group_id=firing.group_id)),
        "enriched-unparseable": sns_event(unparseable()),
    }


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).resolve().parents[2] / "events"
    for name, sample in enriched_samples().items():
        (target / f"{name}.json").write_text(dumps(sample) + "\n")
        print(f"wrote events/{name}.json")
