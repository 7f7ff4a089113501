"""What `netguard local inspect` shows: the running stack's enriched events, Slack messages, PagerDuty
events, remediation audit and cluster DNS, as one JSON-ready dict, and as text for a terminal.

The supervisor calls `stack_view(stack)`; the CLI calls `render_text(view)`. Kubernetes is read in
one function, `read_cluster_dns`, so a change of Kubernetes client touches one place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from netguard.clients.kubernetes import Kube, KubeNotFound
from netguard.remediate.audit import AuditLog
from netguard.state import DynamoStore, OwnedStore, Owner
from netguard_cli.localstack.blockkit import message_to_text
from netguard_cli.localstack.report import redact
from netguard_cli.localstack.stack import COREDNS_SELECTOR, LocalStack

NODELOCAL_SELECTOR = "k8s-app=node-local-dns"


def _ready(pod: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def read_cluster_dns(kube: Kube) -> dict[str, Any]:
    """CoreDNS (replicas, each pod's node and readiness) and NodeLocal DNSCache (DaemonSet, pods)."""
    deployment = kube.call(kube.apps.read_namespaced_deployment, "coredns", "kube-system")
    pods = kube.list_all(kube.core.list_namespaced_pod, "kube-system", label_selector=COREDNS_SELECTOR)
    coredns = {
        "replicas": int((deployment.get("spec") or {}).get("replicas") or 0),
        "ready_replicas": int((deployment.get("status") or {}).get("readyReplicas") or 0),
        "pods": sorted(
            (
                {
                    "name": p["metadata"]["name"],
                    "node": (p.get("spec") or {}).get("nodeName") or "",
                    "ready": _ready(p),
                    "terminating": bool(p["metadata"].get("deletionTimestamp")),
                }
                for p in pods
            ),
            key=lambda p: (p["node"], p["name"]),
        ),
    }
    try:
        daemonset: Mapping[str, Any] | None = kube.call(
            kube.apps.read_namespaced_daemon_set, "node-local-dns", "kube-system"
        )
    except KubeNotFound:  # not deployed: the normal state
        daemonset = None
    nodelocal: dict[str, Any] = {"enabled": daemonset is not None}
    if daemonset is not None:
        status = daemonset.get("status") or {}
        nodelocal.update(
            desired=int(status.get("desiredNumberScheduled") or 0),
            ready=int(status.get("numberReady") or 0),
            pods=len(
                kube.list_all(kube.core.list_namespaced_pod, "kube-system", label_selector=NODELOCAL_SELECTOR)
            ),
        )
    return {"coredns": coredns, "nodelocal_dnscache": nodelocal}


def stack_view(stack: LocalStack, *, limit: int = 50) -> dict[str, Any]:
    """The last `limit` items of each kind, JSON-ready, with credentials redacted."""
    enriched = [
        {"at": e.at, "kind": e.kind, "attributes": e.data.get("attributes"), "event": e.data.get("event")}
        for e in stack.find(lambda e: e.source == "enriched")
    ]
    slack = [
        {
            "at": e.at,
            "kind": e.kind,
            "channel": e.data["body"].get("channel"),
            "ts": e.data["body"].get("ts"),
            "thread_ts": e.data["body"].get("thread_ts"),
            "text": message_to_text(e.data["body"]),
            "body": redact(e.data["body"]),
        }
        for e in stack.find(lambda e: e.source == "slack" and isinstance(e.data.get("body"), Mapping))
    ]
    pagerduty = [
        {"at": e.at, "kind": e.kind, "body": redact(e.data["body"])}
        for e in stack.find(lambda e: e.source == "pagerduty" and isinstance(e.data.get("body"), Mapping))
    ]
    table = DynamoStore(stack.aws("dynamodb"), "netguard-state")
    audit = AuditLog(OwnedStore.of(table, Owner.REMEDIATE, read_legacy=True)).recent(
        stack.settings.cluster_name, limit=limit
    )
    view: dict[str, Any] = {
        "enriched_events": enriched[-limit:],
        "slack_messages": slack[-limit:],
        "pagerduty_events": pagerduty[-limit:],
        "remediation_audit": [dict(record) for record in audit],
        "load": getattr(stack.load, "describe", dict)(),
    }
    if stack.kube is not None:
        view.update(read_cluster_dns(stack.kube))
    else:
        view["kubernetes"] = stack.skipped.get("kubernetes", "not running")
    return view


def _enriched_line(item: Mapping[str, Any]) -> list[str]:
    event = item.get("event") or {}
    lines = [f"[{item['at']:7.1f}s] {item['kind']}  {event.get('alertname') or ''}".rstrip()]
    if event.get("event_type") == "remediation":
        report = event.get("remediation") or {}
        lines.append(f"    {report.get('action')} -> {report.get('outcome')} ({report.get('mode')})")
        lines.extend(f"    · {r}" for r in report.get("reasons") or [])
        return lines
    if event.get("unparseable"):
        lines.append(f"    unparseable: {(event.get('unparseable') or {}).get('reason')}")
    for alert in event.get("alerts") or []:
        labels = (alert.get("alert") or {}).get("labels") or {}
        node = (alert.get("node") or {}).get("name") or labels.get("node") or "?"
        instance = (alert.get("instance") or {}).get("instance_id") or "-"
        diagnosis = (alert.get("diagnosis") or {}).get("summary") or ""
        lines.append(
            f"    {labels.get('type', labels.get('alertname', ''))} on {node} ({instance}) {diagnosis}"
        )
    lines.extend(f"    enrichment error: {err}" for err in (event.get("enrichment_errors") or [])[:5])
    return lines


def _section(title: str, lines: Sequence[str]) -> list[str]:
    return [f"== {title}", *(lines or ["  (none)"]), ""]


def render_text(view: Mapping[str, Any]) -> str:
    """`inspect`'s terminal output: every section, Slack messages as a reader would see them."""
    out: list[str] = []
    out += _section(
        "Enriched events",
        [line for item in view.get("enriched_events") or [] for line in _enriched_line(item)],
    )
    slack: list[str] = []
    for item in view.get("slack_messages") or []:
        thread = f" thread {item['thread_ts']}" if item.get("thread_ts") else ""
        slack.append(
            f"[{item['at']:7.1f}s] {item['kind']} in {item.get('channel')}{thread} (ts {item.get('ts')})"
        )
        slack.extend(f"    {line}" for line in str(item.get("text") or "").splitlines())
    out += _section("Slack messages", slack)
    pagerduty = []
    for item in view.get("pagerduty_events") or []:
        body = item.get("body") or {}
        payload = body.get("payload") or {}
        pagerduty.append(
            f"[{item['at']:7.1f}s] {item['kind']} {payload.get('severity') or ''} "
            f"{payload.get('summary') or ''} (dedup {body.get('dedup_key') or '-'})"
        )
    out += _section("PagerDuty events", pagerduty)
    audit = [
        f"{a.get('at')} {a.get('action')} -> {a.get('outcome')} ({a.get('mode')}): "
        + "; ".join(a.get("reasons") or [])
        for a in view.get("remediation_audit") or []
    ]
    out += _section("Remediation audit", audit)
    dns: list[str] = []
    coredns = view.get("coredns")
    if coredns:
        dns.append(f"CoreDNS replicas {coredns['replicas']} (ready {coredns['ready_replicas']})")
        dns.extend(
            f"    {p['name']:<32} on {p['node'] or '(unscheduled)'}"
            f"{'' if p['ready'] else ' not ready'}{' terminating' if p['terminating'] else ''}"
            for p in coredns["pods"]
        )
        nodelocal = view.get("nodelocal_dnscache") or {}
        dns.append(
            "NodeLocal DNSCache: "
            + (
                f"enabled, {nodelocal.get('ready')}/{nodelocal.get('desired')} ready"
                if nodelocal.get("enabled")
                else "not deployed"
            )
        )
    else:
        dns.append(f"no Kubernetes: {view.get('kubernetes')}")
    if view.get("load"):
        dns.append(f"simulated DNS load: {json.dumps(view['load'], sort_keys=True)}")
    out += _section("Cluster DNS", dns)
    return "\n".join(out).rstrip() + "\n"
