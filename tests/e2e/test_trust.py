"""End to end, in the local stack: remediation trusts the operator's rules and the alerts' own times.

Real drops on the CoreDNS nodes (the DNS load model through the exporter, Prometheus and its rules),
with amp/'s linklocal rules silenced in Alertmanager so the only linklocal alerts are the ones
published here, as AMP would publish them to AlertsTopic:

- an unrelated alert (`HighErrorRate`, its `route` label naming the counter, `for: 1s`, started 30
  minutes ago) on a CoreDNS node changes nothing in Kubernetes and makes no remediation report;
- firing -> resolved -> the same firing again (a redelivery, same `startsAt`): the late firing makes
  no second PagerDuty trigger, no FIRING in Slack and no Kubernetes change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netguard_cli.localstack.dnsload import LoadModel
from netguard_cli.localstack.stack import LocalStack, StackEvent, StackSettings
from tests.e2e.helpers import persisting_labels, publish_alert, silence_shipped_linklocal_rules, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.k8s, pytest.mark.slow]

HEAVY = 12_000.0
"""Queries/s no replica count up to the local maximum (6) absorbs: drops persist after any raise."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = StackSettings(
        workdir=Path(tmp_path_factory.mktemp("trust")), die_with_parent=True, cooldown_seconds=5
    )
    with LocalStack(settings) as running:
        assert running.alertmanager is not None
        silence_shipped_linklocal_rules(running.alertmanager.url, by="tests/e2e/test_trust.py")
        running.load.start(LoadModel(HEAVY, settings.linklocal_limit_pps))
        yield running
        running.load.stop()


def _events(stack: LocalStack, source: str, since: float) -> list[StackEvent]:
    return stack.find(lambda e: e.source == source and e.at >= since)


def _coredns_node(stack: LocalStack) -> tuple[str, str]:
    node = sorted(stack.coredns().nodes)[0]
    instance = next(n.internal_ip for n in stack.nodes if n.name == node)
    return node, instance


def _drops_on(stack: LocalStack, node: str) -> bool:
    return stack.load.per_node().get(node, 0.0) > 0


def _settled(stack: LocalStack, since: float, alertname: str) -> None:
    """The enriched event of `alertname` was published and every function had time to handle it."""
    wait_until(
        f"the enriched event of {alertname}",
        lambda: [e for e in _events(stack, "enriched", since) if alertname in e.text],
    )
    time.sleep(8)  # remediate and the notifiers run within a second or two of the enriched event


@pytest.mark.timeout(600)
def test_unrelated_alert_with_real_drops_on_the_coredns_node_changes_nothing(stack: LocalStack) -> None:
    node, instance = _coredns_node(stack)
    wait_until(f"real drops on the CoreDNS node {node}", lambda: _drops_on(stack, node))
    before = stack.coredns()
    since = publish_alert(
        stack,
        status="firing",
        labels={
            "alertname": "HighErrorRate",
            "cluster": stack.settings.cluster_name,
            "node": node,
            "instance": instance,
            "route": "linklocal_allowance_exceeded",
            "severity": "critical",
        },
        started=time.time() - 1800,
        annotations={"for": "1s", "summary": "errors on the linklocal_allowance_exceeded route"},
    )
    _settled(stack, since, "HighErrorRate")
    assert _drops_on(stack, node), "the drops must be real while the alert is handled"
    after = stack.coredns()
    assert (after.replicas, sorted(after.nodes)) == (before.replicas, sorted(before.nodes))
    reports = [e for e in _events(stack, "enriched", since) if e.kind.startswith("remediation")]
    assert reports == [], [e.text for e in reports]
    assert _events(stack, "slack", since), "the unrelated alert is still notified"


@pytest.mark.timeout(600)
def test_firing_again_after_resolve_pages_posts_and_changes_nothing(stack: LocalStack) -> None:
    node, instance = _coredns_node(stack)
    labels = persisting_labels(stack, node, instance)
    started = time.time() - 900
    first = publish_alert(stack, status="firing", labels=labels, started=started)
    wait_until(
        "the first firing's remediation",
        lambda: [e for e in _events(stack, "enriched", first) if e.kind == "remediation-firing"],
    )
    wait_until("the PagerDuty trigger", lambda: _events(stack, "pagerduty", first))
    resolved = publish_alert(stack, status="resolved", labels=labels, started=started, ended=time.time())
    _settled(stack, resolved, "LinklocalAllowanceExceededPersisting")
    time.sleep(stack.settings.cooldown_seconds + 1)  # past the cooldown: a late firing could act
    before = stack.coredns()
    assert _drops_on(stack, node) or any(_drops_on(stack, n) for n in before.nodes)
    late = publish_alert(stack, status="firing", labels=labels, started=started)
    _settled(stack, late, "LinklocalAllowanceExceededPersisting")
    time.sleep(stack.settings.verify_seconds + 5)  # and past one follow-up check
    after = stack.coredns()
    assert (after.replicas, sorted(after.nodes)) == (before.replicas, sorted(before.nodes))
    assert stack.pagerduty is not None
    triggers = [t for t in stack.pagerduty.of_kind("trigger") if "Persisting" in json.dumps(t.body)]
    assert len(triggers) == 1, [t.body.get("dedup_key") for t in triggers]
    # No new message and no edit back to FIRING since the resolve (thread replies are reports).
    shown = [e for e in _events(stack, "slack", resolved) if e.kind in ("post", "update")]
    firing = [e for e in shown if "FIRING" in json.dumps(e.data.get("body", {}))]
    assert firing == [], [e.text for e in firing]
    changes = [
        e.text
        for e in _events(stack, "enriched", late)
        if e.kind.startswith("remediation") and "-> applied" in e.text
    ]
    assert changes == []
