"""Helpers of the end-to-end tests that speak for linklocal drops themselves (test_trust,
test_phases): silence amp/'s own linklocal rules, publish one alert at a time to AlertsTopic as AMP
publishes it, and wait for what the stack does with it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from netguard.alerts.fingerprint import fingerprint
from netguard_cli.localstack.stack import LocalStack


def silence_shipped_linklocal_rules(alertmanager_url: str, *, by: str) -> None:
    """Silence amp/'s linklocal rules in the stack's Alertmanager for an hour: only the alerts a test
    publishes speak for linklocal drops."""
    now = datetime.now(UTC)
    body = {
        "matchers": [{"name": "alertname", "value": "Linklocal.*", "isRegex": True, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": datetime.fromtimestamp(now.timestamp() + 3600, UTC).isoformat(),
        "createdBy": by,
        "comment": "only the alerts this test publishes may speak for linklocal drops",
    }
    request = urllib.request.Request(
        f"{alertmanager_url}/api/v2/silences",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def persisting_labels(stack: LocalStack, node: str, instance: str) -> dict[str, str]:
    """The labels of the shipped persisting linklocal rule's alert for `node` (what remediation acts on)."""
    return {
        "alertname": "LinklocalAllowanceExceededPersisting",
        "cluster": stack.settings.cluster_name,
        "node": node,
        "instance": instance,
        "device": "eth0",
        "type": "linklocal_allowance_exceeded",
        "severity": "critical",
        "netguard_remediate": "dns",
    }


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def publish_alert(
    stack: LocalStack,
    *,
    status: str,
    labels: Mapping[str, str],
    started: float,
    ended: float | None = None,
    annotations: Mapping[str, str] | None = None,
) -> float:
    """One alert in the project's JSON format (times included) to AlertsTopic; returns when."""
    alert = {
        "status": status,
        "labels": dict(labels),
        "annotations": dict(annotations or {"summary": "published by an end-to-end test"}),
        "startsAt": iso(started),
        "endsAt": iso(ended) if ended is not None else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": fingerprint(labels),
    }
    group = {"alertname": labels["alertname"], "cluster": labels["cluster"]}
    message = {
        "version": "netguard/1",
        "receiver": "netguard",
        "status": status,
        "externalURL": "http://alertmanager.local",
        "groupKey": "{}:" + json.dumps(group, sort_keys=True),
        "groupLabels": group,
        "commonLabels": dict(labels),
        "commonAnnotations": {},
        "alerts": [alert],
    }
    at = stack.elapsed()
    stack.aws("sns").publish(
        TopicArn=stack.topics["AlertsTopic"],
        Subject=f"[{status.upper()}:1] {labels['alertname']}",
        Message=json.dumps(message),
        MessageAttributes={"format": {"DataType": "String", "StringValue": "netguard/1"}},
    )
    return at


def wait_until(what: str, predicate: Callable[[], Any], timeout: float = 90.0) -> Any:
    """`predicate()` once truthy (returned), polled every half second; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")
