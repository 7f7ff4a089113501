"""End to end, in the local stack: what people see follows the incident's phases (issue 21).

- A full co-located incident (the `colocated` scenario: raise and spread, verified, closed) makes
  one Slack reply per phase change and a PagerDuty change event per cluster change, nothing more.
- An alert group whose drops had already stopped (published as AMP would, for a CoreDNS node with no
  drops; then resolved) makes no PagerDuty change event and at most one thread reply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netguard_cli.localstack import catalogue
from netguard_cli.localstack.dnsload import LoadModel
from netguard_cli.localstack.scenario import NamedScenario
from netguard_cli.localstack.stack import LocalStack, StackEvent, StackSettings
from tests.e2e.helpers import persisting_labels, publish_alert, silence_shipped_linklocal_rules, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.k8s, pytest.mark.slow]

LIGHT = 300.0
"""Queries/s well under the allowance on any node: counters exist, drops do not."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = StackSettings(workdir=Path(tmp_path_factory.mktemp("phases")), die_with_parent=True)
    with LocalStack(settings) as running:
        yield running


def _remediation_reports(stack: LocalStack, since: float) -> list[dict[str, Any]]:
    return [
        e.data["event"]["remediation"]
        for e in stack.find(lambda e: e.source == "enriched" and e.at >= since)
        if e.kind.startswith("remediation")
    ]


def _slack(stack: LocalStack, since: float, *kinds: str) -> list[StackEvent]:
    return stack.find(lambda e: e.source == "slack" and e.kind in kinds and e.at >= since)


def _remediation_replies(stack: LocalStack, since: float) -> list[StackEvent]:
    messages = _slack(stack, since, "reply", "post")
    return [e for e in messages if "Remediation on" in json.dumps(e.data.get("body", {}), ensure_ascii=False)]


def _changes(stack: LocalStack, since: float) -> list[StackEvent]:
    return stack.find(lambda e: e.source == "pagerduty" and e.kind == "change" and e.at >= since)


@pytest.mark.timeout(900)
def test_full_colocated_incident_replies_once_per_phase_change(stack: LocalStack) -> None:
    since = stack.elapsed()
    result = NamedScenario(stack, catalogue.find("colocated")).run()
    assert result.passed, "\n".join(result.lines())
    wait_until(
        "the verification that closes the incident",
        lambda: any(r.get("phase") == "closed" for r in _remediation_reports(stack, since)),
        timeout=180.0,
    )
    time.sleep(5)  # the notifiers run within a second or two of the report
    reports = _remediation_reports(stack, since)
    told = [r for r in reports if r["tell"]]
    moves = [(r["phase_before"], r["phase"]) for r in told]
    assert all(before != after or r["changed"] for (before, after), r in zip(moves, told, strict=True))
    assert moves[0][1] == "verifying", moves
    assert moves[-1][1] == "closed", moves
    replies = _remediation_replies(stack, since)
    assert len(replies) == len(told), ([e.text for e in replies], moves)
    assert len(reports) > len(told), "every check is still reported on the topic and audited"
    changed = [r for r in reports if r["changed"]]
    assert changed, "the raise (and spread) changed the cluster"
    assert len(_changes(stack, since)) == len(changed)
    for reply in replies:
        text = json.dumps(reply.data.get("body", {}), ensure_ascii=False)
        assert "mode unknown" not in text
        assert "coredns_pods_by_node" not in text
    stack.load.stop()


@pytest.mark.timeout(600)
def test_alert_group_whose_drops_already_stopped_is_quiet(stack: LocalStack) -> None:
    assert stack.alertmanager is not None
    silence_shipped_linklocal_rules(stack.alertmanager.url, by="tests/e2e/test_phases.py")
    stack.load.start(LoadModel(LIGHT, stack.settings.linklocal_limit_pps))
    node = sorted(stack.coredns().nodes)[0]
    instance = next(n.internal_ip for n in stack.nodes if n.name == node)
    time.sleep(20)  # Prometheus has scraped the node's counters: the fresh query says 0 drops/s
    labels = persisting_labels(stack, node, instance)
    before = stack.coredns()
    started = time.time() - 900
    since = publish_alert(stack, status="firing", labels=labels, started=started)
    wait_until("the firing's remediation report", lambda: _remediation_reports(stack, since))
    resolved = publish_alert(stack, status="resolved", labels=labels, started=started, ended=time.time())
    wait_until("the resolve's remediation report", lambda: _remediation_reports(stack, resolved))
    time.sleep(8)  # the notifiers run within a second or two of the report
    reports = _remediation_reports(stack, since)
    assert [r["tell"] for r in reports] == [False] * len(reports), reports
    assert _changes(stack, since) == []
    replies = _slack(stack, since, "reply")
    assert len(replies) <= 1, [e.text for e in replies]
    assert _remediation_replies(stack, since) == []
    after = stack.coredns()
    assert (after.replicas, sorted(after.nodes)) == (before.replicas, sorted(before.nodes))
    stack.load.stop()
