"""A recorded local stack run as plain `StackEvent`s (pure data), for the timeline and report tests.

It follows the demo's scenario: CoreDNS on two nodes, drops on both, the alert fires, remediation
scales CoreDNS 2 -> 4, the drops stop and the alert resolves; with the Slack and PagerDuty requests
the receivers would have recorded (a routing key included, so tests can check it never shows).
"""

from __future__ import annotations

from typing import Any

from netguard_cli.localstack.stack import StackEvent

NODES = ("ip-10-0-1-10.ec2.internal", "ip-10-0-2-20.ec2.internal")
ROUTING_KEY = "R0RECORDEDRUN00000000000000000"
DIAGNOSIS = "*Diagnosis*\n• CoreDNS shares `eth0`"


def slack_post(text: str = "LinkLocalAllowanceExceeded") -> dict[str, Any]:
    return {
        "channel": "C0NETGUARD",
        "ts": "1700000001.000100",
        "text": f"FIRING: {text}",
        "attachments": [
            {
                "color": "#E01E5A",
                "blocks": [
                    {
                        "type": "header",
                        "text": {"type": "plain_text", "text": f":red_circle: FIRING: {text}"},
                    },
                    {
                        "type": "section",
                        "text": {"type": "mrkdwn", "text": "*Diagnosis*\n• CoreDNS shares `eth0`"},
                    },
                    {"type": "divider"},
                    {
                        "type": "section",
                        "fields": [
                            {"type": "mrkdwn", "text": "*Cluster*\nnetguard-local"},
                            {"type": "mrkdwn", "text": "*Alerts*\n2 firing"},
                        ],
                    },
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "text": {"type": "plain_text", "text": "Graph"},
                                "url": "http://127.0.0.1:9090/graph",
                            }
                        ],
                    },
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": "netguard · group"}]},
                ],
            }
        ],
    }


def remediation(at_outcome: str, before: int, after: int) -> dict[str, Any]:
    return {
        "event_type": "remediation",
        "remediation": {
            "decision_id": f"dec-{at_outcome}-{after}",
            "action": "scale_coredns" if at_outcome == "applied" else "none",
            "outcome": at_outcome,
            "mode": "enforce",
            "reasons": [f"scaled Deployment kube-system/coredns from {before} to {after}"],
            "before": {"replicas": before},
            "after": {"replicas": after},
            "follow_up": "verification in 15 s",
        },
    }


def coredns(at: float, replicas: int, ready: int) -> StackEvent:
    data = {"replicas": replicas, "ready": ready, "nodes": list(NODES)}
    return StackEvent(at, "kubernetes", "coredns", f"coredns {ready}/{replicas}", data)


def recorded_run() -> list[StackEvent]:
    a, b = NODES
    firing = {"alert": f"LinklocalAllowanceExceeded on {a}"}
    return [
        StackEvent(8.0, "stack", "ready", "local stack ready in 8.0s"),
        coredns(8.5, 2, 2),
        # Start-up: the absent-metric alert goes pending then inactive: not an alert episode.
        StackEvent(9.0, "prometheus", "alert-pending", "absent", {"alert": "EthtoolMetricAbsent on ?"}),
        StackEvent(10.0, "prometheus", "alert-inactive", "absent", {"alert": "EthtoolMetricAbsent on ?"}),
        StackEvent(14.0, "exporter", "drops", "drops", {"drops": {a: 476.0, b: 476.0}}),
        StackEvent(15.5, "prometheus", "alert-firing", f"{firing['alert']}: inactive -> firing", firing),
        StackEvent(17.0, "slack", "post", "post in C0NETGUARD", {"body": slack_post()}),
        StackEvent(
            24.0,
            "pagerduty",
            "trigger",
            "trigger",
            {
                "body": {
                    "routing_key": ROUTING_KEY,
                    "event_action": "trigger",
                    "dedup_key": "netguard/abc",
                    "payload": {"summary": "linklocal drops", "severity": "critical", "source": a},
                }
            },
        ),
        StackEvent(25.0, "enriched", "remediation-firing", "skip", {"event": remediation("skipped", 2, 2)}),
        StackEvent(26.0, "enriched", "remediation-firing", "scaled", {"event": remediation("applied", 2, 4)}),
        StackEvent(
            26.2, "kubernetes", "coredns", "coredns 4/2", {"replicas": 4, "ready": 2, "nodes": [a, b]}
        ),
        StackEvent(
            27.0, "kubernetes", "coredns", "coredns 4/4", {"replicas": 4, "ready": 4, "nodes": [a, b]}
        ),
        StackEvent(27.5, "exporter", "drops", "no drops", {"drops": {}}),
        StackEvent(38.0, "prometheus", "alert-inactive", f"{firing['alert']}: firing -> inactive", firing),
        StackEvent(
            39.0,
            "pagerduty",
            "resolve",
            "resolve",
            {"body": {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "netguard/abc"}},
        ),
    ]
