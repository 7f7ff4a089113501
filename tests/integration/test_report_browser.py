"""The HTML report in a real headless chromium: it loads without console errors, fetches nothing, and
its chart has a drawn series per node, the replica series and the markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netguard_cli.localstack.report import render_report, report_data
from tests.support.browser import browser, open_report  # noqa: F401 -- `browser` is a fixture
from tests.support.localruns import NODES, recorded_run

pytestmark = [pytest.mark.integration]


def test_recorded_run_renders(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    """A recorded run: two node series, replicas and Ready, the three markers, Slack and PagerDuty."""
    path = tmp_path / "report.html"
    path.write_text(render_report(report_data(recorded_run(), end=45.0)))
    page = open_report(browser, path)
    assert page.console_errors == []
    assert page.resources == []
    assert {s["node"] for s in page.series_of("drops")} == set(NODES)
    assert all(s["length"] > 0 for s in page.series)
    assert len(page.series_of("replicas")) == 1
    assert len(page.series_of("ready")) == 1
    assert page.markers == ["alert-fired", "remediation", "alert-resolved"]
    assert page.width > 500
    assert page.height > 150
    assert page.slack == 1
    assert page.pagerduty == 2


def test_the_check_sees_a_broken_page(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    """Control: a report that tried to load something is caught (CSP blocks it, the console says so)."""
    path = tmp_path / "broken.html"
    page_text = render_report(report_data(recorded_run(), end=45.0))
    path.write_text(page_text.replace("</body>", '<img src="http://192.0.2.1/x.png"></body>'))
    page = open_report(browser, path)
    assert any("Content Security Policy" in e for e in page.console_errors), page.console_errors
