#!/usr/bin/env python3
"""Regenerate events/*.json: sample Lambda SNS events for every format the intake reads.

Formats Alertmanager can produce come from a real one (Debian's prometheus-alertmanager) publishing
to a moto SNS topic; the rest (webhook JSON, bad inputs) are written here by hand and say so.
Run from the checkout: `.venv/bin/python scripts/generate-events.py` (about 30 s).
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moto.server import ThreadedMotoServer  # noqa: E402
from tests.support.alertmanager import SnsCapture, api_alert, create_capture, route  # noqa: E402

from netguard.alerts import SnsMessage, Status, Unparseable, is_truncated, parse_message  # noqa: E402
from netguard_cli.localstack.alertmanager import RunningAlertmanager, start_alertmanager  # noqa: E402
from netguard_cli.localstack.processes import free_port  # noqa: E402

EVENTS = ROOT / "events"
AMP = ROOT / "amp"
START = datetime(2026, 11, 25, 20, 36, 41, 124000, tzinfo=UTC)
GENERATOR = (
    "http://prometheus.local/graph?g0.expr=rate%28node_net_ethtool%7Btype%3D%22linklocal_allowance_exceeded"
    "%22%7D%5B1m%5D%29+%3E+0&g0.tab=1"
)
COMMON = {
    "alertname": "LinkLocalAllowanceExceeded",
    "cluster": "prod",
    "device": "eth0",
    "job": "ethtool",
    "type": "linklocal_allowance_exceeded",
}
ANNOTATIONS = {
    "summary": "Packets to link-local services (DNS via the VPC resolver) dropped",
    "description": 'CoreDNS on this node exceeds 1024 pps to the VPC resolver.\nRaise "replicas" or enable\n'
    "NodeLocal DNSCache (see C:\\runbook).",
}


def lambda_event(notification: dict[str, Any], *, note: str = "") -> dict[str, Any]:
    topic = notification.get("TopicArn", "arn:aws:sns:us-east-1:123456789012:netguard-alerts")
    sns = {
        "Type": "Notification",
        "MessageId": notification.get("MessageId", str(uuid.uuid4())),
        "TopicArn": topic,
        "Subject": notification.get("Subject"),
        "Message": notification["Message"],
        "Timestamp": notification.get("Timestamp", "2026-11-25T20:37:00.000Z"),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000.pem",
        "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        "MessageAttributes": notification.get("MessageAttributes", {}),
    }
    event: dict[str, Any] = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.UUID(int=0)}",
                "Sns": sns,
            }
        ]
    }
    if note:
        event["_comment"] = note
    return event


def write(name: str, event: Any) -> None:
    path = EVENTS / name
    path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


def _alerts(name: str) -> list[dict[str, Any]]:
    if name == "key-value":  # what the seed document's rules produce, one alert per group
        labels = {
            "alertname": "LinkLocalAllowanceExceeded",
            "event_type": "dns",
            "instance": "10.0.1.23:9100",
        }
        return [api_alert(labels, ANNOTATIONS, starts_at=START, generator_url=GENERATOR)]
    return [
        api_alert(
            {**COMMON, "instance": "10.0.1.23:9100", "node": "ip-10-0-1-23.ec2.internal"},
            ANNOTATIONS,
            starts_at=START,
            generator_url=GENERATOR,
        ),
        api_alert(
            {**COMMON, "instance": "10.0.2.7:9100", "node": "ip-10-0-2-7.ec2.internal"},
            {**ANNOTATIONS, "summary": 'Packets dropped on "ip-10-0-2-7"'},
            starts_at=START + timedelta(seconds=30),
            generator_url=GENERATOR,
        ),
    ]


def _count(message: SnsMessage, status: Status | None = None) -> int:
    outcome = parse_message(message)
    if isinstance(outcome, Unparseable):
        return -1
    return sum(1 for g in outcome for a in g.alerts if status is None or a.status is status)


def run_format(
    capture: SnsCapture,
    workdir: Path,
    name: str,
    sns_extra: dict[str, Any],
    templates: dict[str, str],
    **route_extra: Any,
) -> None:
    config = {
        "route": route(**{"group_by": ["alertname", "cluster"], **route_extra}),
        "receivers": [{"name": "netguard", "sns_configs": [capture.sns_config(**sns_extra)]}],
        "templates": list(templates),
    }
    config["route"]["receiver"] = "netguard"
    am: RunningAlertmanager = start_alertmanager(config, workdir=workdir / name, templates=templates)
    try:
        alerts = _alerts(name)
        am.post_alerts(alerts)
        firing = capture.wait_for(lambda m: _count(m) == len(alerts))
        write(f"sns-{name}-firing.json", lambda_event(firing))
        if len(alerts) > 1:
            am.post_alerts([dict(alerts[1], endsAt=api_alert({}, resolved=True)["endsAt"])])
            mixed = capture.wait_for(lambda m: _count(m, Status.RESOLVED) == 1)
            if name == "default":
                write(f"sns-{name}-firing-and-resolved.json", lambda_event(mixed))
        am.post_alerts([dict(a, endsAt=api_alert({}, resolved=True)["endsAt"]) for a in alerts])
        resolved = capture.wait_for(lambda m: _count(m, Status.RESOLVED) == len(alerts))
        write(f"sns-{name}-resolved.json", lambda_event(resolved))
    finally:
        am.stop()


def run_truncated(capture: SnsCapture, workdir: Path) -> None:
    """1400 alerts in one group: Alertmanager cuts the message at 256 KB and sets `truncated`."""
    templates = {"amp-json": (AMP / "examples" / "amp-json.tmpl").read_text()}
    config = {
        "route": route(group_by=["alertname"]),
        "receivers": [{"name": "sns", "sns_configs": [capture.sns_config()]}],
        "templates": list(templates),
    }
    am = start_alertmanager(config, workdir=workdir / "truncated", templates=templates)
    try:
        alerts = [
            api_alert(
                {**COMMON, "instance": f"10.0.{i // 250}.{i % 250}:9100"},
                {"summary": "x" * 60, "description": 'a "quoted"\nvalue'},
                starts_at=START,
                generator_url=GENERATOR,
            )
            for i in range(1400)
        ]
        am.post_alerts(alerts)
        message = capture.wait_for(is_truncated, timeout=60)
        write("sns-amp-json-truncated.json", lambda_event(message))
    finally:
        am.stop()


def hand_written() -> None:
    note = "hand-written: "
    webhook = {
        "version": "4",
        "groupKey": '{}:{alertname="PPSAllowanceExceeded"}',
        "truncatedAlerts": 0,
        "receiver": "netguard",
        "status": "firing",
        "externalURL": "http://alertmanager.local",
        "groupLabels": {"alertname": "PPSAllowanceExceeded"},
        "commonLabels": {"alertname": "PPSAllowanceExceeded", "device": "eth0", "instance": "10.0.3.9:9100"},
        "commonAnnotations": {"summary": "PPS allowance exceeded"},
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "PPSAllowanceExceeded",
                    "device": "eth0",
                    "instance": "10.0.3.9:9100",
                },
                "annotations": {"summary": "PPS allowance exceeded"},
                "startsAt": "2026-11-25T20:36:41.124Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.local/graph?g0.expr=rate%28node_ethtool_pps_allowance_exceeded%5B1m%5D%29",
                "fingerprint": "0000000000000000",
            }
        ],
    }
    write(
        "sns-webhook-json-firing.json",
        lambda_event(
            {"Subject": "[FIRING:1] PPSAllowanceExceeded", "Message": json.dumps(webhook)},
            note=note + "webhook-shaped JSON as a toJson template (Alertmanager >= 0.30) renders it; the "
            "fingerprint is deliberately wrong to show the warning",
        ),
    )
    bad = {
        "empty": "",
        "binary": "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        "html": "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
        "cloudwatch-alarm": json.dumps(
            {
                "AlarmName": "netguard-enrich-errors",
                "NewStateValue": "ALARM",
                "NewStateReason": "Threshold Crossed",
                "StateChangeTime": "2026-11-25T20:36:41.124+0000",
                "Region": "US East (N. Virginia)",
                "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:netguard-enrich-errors",
                "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda"},
            }
        ),
    }
    for name, message in bad.items():
        subject = "ALARM: netguard-enrich-errors" if name == "cloudwatch-alarm" else None
        write(
            f"sns-bad-{name}.json", lambda_event({"Subject": subject, "Message": message}, note=note + name)
        )
    write(
        "sns-bad-subscription-confirmation.json",
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:netguard-alerts",
            "Message": "You have chosen to subscribe to the topic "
            "arn:aws:sns:us-east-1:123456789012:netguard-alerts.",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
            "&TopicArn=arn:aws:sns:us-east-1:123456789012:netguard-alerts&Token=2336412f37",
            "Timestamp": "2026-11-25T20:36:41.124Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000.pem",
        },
    )


def main() -> int:
    EVENTS.mkdir(exist_ok=True)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="netguard-events-") as tmp:
            workdir = Path(tmp)
            endpoint = f"http://127.0.0.1:{port}"
            kv = (AMP / "examples" / "key-value.tmpl").read_text()
            formats: list[tuple[str, dict[str, Any], dict[str, str], dict[str, Any]]] = [
                ("default", {}, {}, {}),
                ("amp-json", {}, {"amp-json": (AMP / "examples" / "amp-json.tmpl").read_text()}, {}),
                (
                    "key-value",
                    {"message": '{{ template "seed.key_value.message" . }}'},
                    {"key-value": kv},
                    {"group_by": ["alertname", "instance"]},
                ),
                (
                    "netguard",
                    {
                        "subject": '{{ template "netguard.subject" . }}',
                        "message": '{{ template "netguard.json" . }}',
                        "attributes": {"format": "netguard/1"},
                    },
                    {"netguard": (AMP / "netguard.tmpl").read_text()},
                    {},
                ),
            ]
            for name, sns_extra, templates, route_extra in formats:
                capture = create_capture(endpoint, topic=f"alerts-{name}")
                run_format(capture, workdir, name, sns_extra, templates, **route_extra)
            run_truncated(create_capture(endpoint, topic="alerts-truncated"), workdir)
    finally:
        server.stop()
    hand_written()
    return 0


if __name__ == "__main__":
    sys.exit(main())
