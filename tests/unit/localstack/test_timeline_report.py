"""The timeline recorded from a run's events, and the HTML report drawn from it (pure)."""

from __future__ import annotations

import re
from pathlib import Path

from netguard_cli.localstack.report import render_report, report_data, write_report
from netguard_cli.localstack.stack import StackEvent
from netguard_cli.localstack.timeline import MarkerKind, Point, Timeline, timeline_from_events
from tests.support.localruns import NODES, ROUTING_KEY, recorded_run


class TestTimeline:
    def test_step_series_per_node_and_replicas(self) -> None:
        """Each node's drops and CoreDNS replicas are step series with one point per change."""
        timeline = timeline_from_events(recorded_run(), end=45.0)
        a, b = NODES
        assert timeline.start == 8.0
        assert timeline.end == 45.0
        assert timeline.drops[a] == (Point(8.0, 0.0), Point(14.0, 476.0), Point(27.5, 0.0))
        assert set(timeline.drops) == {a, b}
        assert timeline.replicas == (Point(8.5, 2.0), Point(26.2, 4.0))
        assert timeline.ready == (Point(8.5, 2.0), Point(27.0, 4.0))

    def test_markers_fired_remediation_resolved(self) -> None:
        """Start-up's pending absent-metric alert and skipped decisions make no marker."""
        markers = timeline_from_events(recorded_run()).markers
        assert [(m.at, m.kind) for m in markers] == [
            (15.5, MarkerKind.FIRED),
            (26.0, MarkerKind.REMEDIATION),
            (38.0, MarkerKind.RESOLVED),
        ]
        assert markers[1].text == "scale_coredns: applied 2→4"

    def test_round_trip_through_json_data(self) -> None:
        """`timeline.json` (what `netguard local` records) reads back equal."""
        timeline = timeline_from_events(recorded_run(), end=45.0)
        assert Timeline.from_dict(timeline.to_dict()) == timeline

    def test_no_events(self) -> None:
        assert timeline_from_events([]) == Timeline(end=0.0)


class TestReport:
    def page(self) -> str:
        return render_report(report_data(recorded_run(), end=45.0, cluster="netguard-local"))

    def test_chart_has_a_series_per_node_replicas_and_markers(self) -> None:
        page = self.page()
        for node in NODES:
            assert f'data-series="drops" data-node="{node}"' in page
        assert 'data-series="replicas"' in page
        assert 'data-series="ready"' in page
        assert re.findall(r'data-marker="([a-z-]+)"', page) == [
            "alert-fired",
            "remediation",
            "alert-resolved",
        ]

    def test_decisions_slack_and_pagerduty_sections(self) -> None:
        page = self.page()
        assert "scaled Deployment kube-system/coredns from 2 to 4" in page
        assert "replicas: 2 → 4" in page
        assert '<div class="bk-header">🔴 FIRING: LinkLocalAllowanceExceeded</div>' in page
        assert '<div class="bk-fields">' in page
        assert '<a class="bk-button" href="http://127.0.0.1:9090/graph">Graph</a>' in page
        assert 'data-kind="trigger"' in page
        assert 'data-kind="resolve"' in page

    def test_self_contained_and_no_secret(self) -> None:
        """No script, no external resource (CSP forbids any), no routing key."""
        page = self.page()
        assert "<script" not in page
        assert not re.search(r"\bsrc=|<link\b|url\(", page)
        assert "default-src 'none'" in page
        assert ROUTING_KEY not in page

    def test_values_are_escaped(self) -> None:
        """A node name or Slack text holding HTML is shown, never interpreted."""
        evil = '<img src=x onerror="alert(1)">'
        events = [
            StackEvent(1.0, "exporter", "drops", "d", {"drops": {evil: 5.0}}),
            StackEvent(2.0, "slack", "post", "p", {"body": {"text": evil, "channel": evil}}),
        ]
        page = render_report(report_data(events))
        assert "<img" not in page
        assert "&lt;img src=x" in page

    def test_write_report_from_a_stack(self, tmp_path: Path) -> None:
        """`write_report(stack, path)` writes the page and returns the path (what scenarios call)."""

        class FakeStack:
            def __init__(self) -> None:
                self.events = recorded_run()
                self.skipped = {"function notify_pagerduty": "functions/notify_pagerduty/app.py missing"}

            def elapsed(self) -> float:
                return 45.0

        path = write_report(FakeStack(), tmp_path / "sub" / "report.html")
        text = path.read_text()
        assert path == tmp_path / "sub" / "report.html"
        assert "skipped function notify_pagerduty" in text
        assert text.startswith("<!DOCTYPE html>")
