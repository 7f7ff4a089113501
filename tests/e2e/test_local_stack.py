"""End to end: the local stack (`make demo`) closes the whole loop, and that is asserted.

One stack per module: moto, the Kubernetes control plane, the fake ENA exporter, Prometheus with
amp/'s rules, Alertmanager with amp/'s definition, Slack and PagerDuty receivers and a worker per
function. The DNS-throttling scenario runs once (bounded: stack start + a 200 s scenario budget);
each test then checks one link of the chain, with the step table and the skipped components in
its failure message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netguard_cli.localstack.report import write_report
from netguard_cli.localstack.scenario import Scenario, ScenarioResult, StepStatus
from netguard_cli.localstack.stack import LocalStack, StackSettings
from tests.support.browser import browser, open_report  # noqa: F401 -- `browser` is a fixture

pytestmark = [pytest.mark.integration, pytest.mark.k8s, pytest.mark.slow]

SCENARIO_SECONDS = 200.0


class Run:
    def __init__(self, stack: LocalStack, result: ScenarioResult) -> None:
        self.stack = stack
        self.result = result

    def explain(self) -> str:
        steps = "\n".join(
            f"  {s.name}: {s.status.value} at {s.at:.1f}s {s.detail}" for s in self.result.steps
        )
        skipped = "\n".join(f"  {k}: {v}" for k, v in self.stack.skipped.items()) or "  none"
        failures = "\n".join(e.text for e in self.stack.events if e.source == "lambda" and e.kind == "error")
        return f"steps:\n{steps}\nskipped:\n{skipped}\nfunction failures:\n{failures or '  none'}"

    def enriched(self, event_type: str, status: str) -> list[dict[str, Any]]:
        return [
            e.data["event"]
            for e in self.stack.events
            if e.source == "enriched" and e.kind == f"{event_type}-{status}"
        ]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    settings = StackSettings(workdir=Path(tmp_path_factory.mktemp("local-stack")), die_with_parent=True)
    with LocalStack(settings) as stack:
        result = Scenario(stack, timeout=SCENARIO_SECONDS).run()
        yield Run(stack, result)


@pytest.mark.timeout(300)
def test_every_step_happened(run: Run) -> None:
    """No step of the loop was skipped or timed out."""
    assert run.result.loop_closed, run.explain()


@pytest.mark.timeout(300)
def test_enriched_event_published(run: Run) -> None:
    """Alertmanager's SNS message was enriched: node, instance and a remediable DNS diagnosis."""
    events = run.enriched("alert_group", "firing")
    assert events, run.explain()
    coredns_nodes = set(
        run.stack.find(lambda e: e.source == "exporter" and e.kind == "drops")[0].data["drops"]
    )
    linklocal = [
        alert
        for event in events
        for alert in event["alerts"]
        if alert["alert"]["labels"].get("type") == "linklocal_allowance_exceeded"
    ]
    assert {a["node"]["name"] for a in linklocal} == coredns_nodes, run.explain()
    assert all(a["instance"]["instance_id"].startswith("i-") for a in linklocal), run.explain()
    assert any(a["diagnosis"]["remediable"] for a in linklocal), run.explain()


@pytest.mark.timeout(300)
def test_slack_post_and_pagerduty_trigger(run: Run) -> None:
    """Slack got a message in the channel and PagerDuty a critical trigger with a dedup key."""
    assert run.stack.slack is not None
    assert run.stack.pagerduty is not None
    posts = run.stack.slack.of_kind("post")
    assert posts, run.explain()
    assert all(p.body.get("channel") == "C0NETGUARD" for p in posts)
    triggers = run.stack.pagerduty.of_kind("trigger")
    assert triggers, run.explain()
    assert {t.body["payload"]["severity"] for t in triggers} == {"critical"}  # PagerDutyScope=critical
    assert all(t.body["dedup_key"] for t in triggers)


@pytest.mark.timeout(300)
def test_remediation_raised_coredns_and_spread_it(run: Run) -> None:
    """The remediation scaled CoreDNS through the scale subresource, new pods went Ready on new
    nodes, and its report reached Slack's thread and PagerDuty as a change event."""
    state = run.stack.coredns()
    assert state.replicas > 2, run.explain()
    assert state.ready == state.replicas, run.explain()
    assert len(set(state.nodes)) == state.replicas, run.explain()
    reports = [e["remediation"] for e in run.enriched("remediation", "firing")]
    applied = [r for r in reports if r["action"] == "scale_coredns" and r["outcome"] == "applied"]
    assert len(applied) == 1, run.explain()  # one action, however many alerts and deliveries
    assert run.stack.pagerduty is not None
    assert any("scale_coredns" in c.summary for c in run.stack.pagerduty.of_kind("change")), run.explain()


@pytest.mark.timeout(300)
def test_recovery_resolved_everywhere(run: Run) -> None:
    """Once the load spread, drops stopped, the alert resolved, Slack's message was edited to
    resolved and the PagerDuty incident was resolved with the trigger's dedup key."""
    assert run.result.step("drops stopped").status is StepStatus.DONE, run.explain()
    assert run.stack.load.per_node() == {}
    assert run.enriched("alert_group", "resolved"), run.explain()
    assert run.stack.slack is not None
    assert run.stack.pagerduty is not None
    updates = run.stack.slack.of_kind("update")
    posted = {p.body["ts"] for p in run.stack.slack.of_kind("post")}
    assert updates, run.explain()
    assert {u.body["ts"] for u in updates} <= posted
    assert any("RESOLVED" in json.dumps(u.body).upper() for u in updates)
    resolves = {r.body["dedup_key"] for r in run.stack.pagerduty.of_kind("resolve")}
    triggers = {t.body["dedup_key"] for t in run.stack.pagerduty.of_kind("trigger")}
    assert resolves, run.explain()
    assert resolves <= triggers


@pytest.mark.timeout(300)
def test_no_secret_in_the_narrative(run: Run) -> None:
    """The demo credentials never appear in anything the stack reports."""
    text = "\n".join(e.text for e in run.stack.events)
    assert "xoxb-local-demo-token" not in text
    assert "R0LOCALDEMO" not in text


@pytest.mark.timeout(300)
def test_report_of_the_run(run: Run, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    """The HTML report of the real run opens in chromium without errors and charts what happened:
    drops on the CoreDNS nodes, replicas 2 -> more, alert fired, remediation acted, alert resolved."""
    path = write_report(run.stack, tmp_path / "report.html")
    page = open_report(browser, path)
    assert page.console_errors == [], run.explain()
    assert page.resources == []
    coredns_nodes = set(
        run.stack.find(lambda e: e.source == "exporter" and e.kind == "drops")[0].data["drops"]
    )
    assert {s["node"] for s in page.series_of("drops")} >= coredns_nodes
    assert all(s["length"] > 0 for s in page.series)
    assert len(page.series_of("replicas")) == 1
    for marker in ("alert-fired", "remediation", "alert-resolved"):
        assert marker in page.markers, (page.markers, run.explain())
    assert page.markers.index("alert-fired") < page.markers.index("remediation")
    assert page.slack >= 2
    assert page.pagerduty >= 2
