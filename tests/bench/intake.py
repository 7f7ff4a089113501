"""Benchmark (prints, asserts nothing): parse time of one 450-alert group in each format.

Run: `.venv/bin/python -m tests.bench.intake`. Messages are rendered with the test re-implementations
of Alertmanager's templates, with realistic labels (11 per alert) and multi-line annotations.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from netguard.alerts import SnsMessage, Unparseable, parse_message
from tests.unit.alerts import render
from tests.unit.alerts.render import SpecAlert, SpecGroup

ALERTS = 450
ROUNDS = 7


def group() -> SpecGroup:
    start = datetime(2026, 11, 25, 20, 36, 41, 124000, tzinfo=UTC)
    alerts = [
        SpecAlert(
            status="firing" if i % 5 else "resolved",
            labels={
                "alertname": "LinkLocalAllowanceExceeded",
                "cluster": "prod-eu-west-1",
                "device": "eth0",
                "instance": f"10.0.{i // 250}.{i % 250}:9100",
                "job": "ethtool-exporter",
                "namespace": "monitoring",
                "node": f"ip-10-0-{i // 250}-{i % 250}.eu-west-1.compute.internal",
                "pod": f"ethtool-exporter-{i:05d}",
                "severity": "critical",
                "type": "linklocal_allowance_exceeded",
                "region": "eu-west-1",
            },
            annotations={
                "summary": f'Link-local packets dropped on "ip-10-0-{i // 250}-{i % 250}"',
                "description": "CoreDNS exceeds 1024 pps to the VPC resolver.\nRaise replicas or enable\n"
                "NodeLocal DNSCache (C:\\runbook).",
                "runbook_url": "https://runbooks.example.com/netguard/linklocal",
            },
            starts_at=start + timedelta(seconds=i),
            ends_at=start + timedelta(minutes=10) if i % 5 == 0 else None,
            generator_url="http://prometheus.local/graph?g0.expr=rate%28node_net_ethtool%5B1m%5D%29+%3E+0",
        )
        for i in range(ALERTS)
    ]
    return SpecGroup(alerts=alerts, group_by=("alertname", "cluster"))


def measure(name: str, message: SnsMessage) -> None:
    timings = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        outcome = parse_message(message)
        timings.append(time.perf_counter() - began)
    assert not isinstance(outcome, Unparseable), outcome.reason
    count = sum(len(g.alerts) for g in outcome)
    print(
        f"{name:<22} {len(message.message) / 1024:8.1f} KB  {count:4d} alerts  "
        f"median {statistics.median(timings) * 1000:7.1f} ms  min {min(timings) * 1000:7.1f} ms"
    )


def main() -> None:
    spec = group()
    subject = "[FIRING:360] LinkLocalAllowanceExceeded prod-eu-west-1 (eth0 ethtool-exporter monitoring"
    formats: list[tuple[str, Callable[[SpecGroup], str], str]] = [
        ("alertmanager default", render.default_text, subject),
        ("AMP JSON (invalid)", render.amp_json, "[FIRING:360]"),
        ("netguard JSON", render.netguard_json, "[FIRING:360] LinkLocalAllowanceExceeded"),
    ]
    print(f"intake: one group of {ALERTS} alerts, {ROUNDS} rounds each")
    for name, renderer, subj in formats:
        measure(name, SnsMessage(message=renderer(spec), subject=subj))
    text = render.amp_json(spec)
    measure(
        "AMP JSON cut at 60%",
        SnsMessage(message=text[: len(text) * 6 // 10], attributes={"truncated": "true"}),
    )
    measure("key: value", SnsMessage(message=render.key_value(spec), subject=subject))


if __name__ == "__main__":
    main()
