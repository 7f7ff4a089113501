"""A real headless browser (Debian's chromium through chromedriver and selenium) for the report tests.

`browser` starts one chromium per test module with a fresh profile and no background networking;
`open_report(driver, path)` loads a file and returns what the page shows: console errors, resources it
tried to load, the chart's series and markers. Debian's `chromium` and `chromium-driver` come from
scripts/install-system-deps.sh (`make system-deps`); without them the test fails and says so.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root, where chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,1600",
)

_CHART_SCRIPT = """
const series = [...document.querySelectorAll('#chart path[data-series]')].map(p => ({
  series: p.dataset.series, node: p.dataset.node || '', length: p.getTotalLength()}));
const markers = [...document.querySelectorAll('#chart g.marker')].map(g => g.dataset.marker);
const box = document.getElementById('chart').getBoundingClientRect();
const resources = performance.getEntriesByType('resource').map(r => r.name);
return {series, markers, width: box.width, height: box.height, resources,
        slack: document.querySelectorAll('.slack').length,
        pagerduty: document.querySelectorAll('tr[data-kind]').length};
"""


@dataclass(frozen=True)
class PageView:
    console_errors: list[str]
    resources: list[str]
    """Everything the page fetched besides itself (a self-contained page fetches nothing)."""
    series: list[dict[str, Any]]
    markers: list[str]
    width: float
    height: float
    slack: int
    pagerduty: int

    def series_of(self, kind: str) -> list[dict[str, Any]]:
        return [s for s in self.series if s["series"] == kind]


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make system-deps` (scripts/install-system-deps.sh)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="netguard-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Explicit driver path: selenium never looks for (or downloads) a driver of its own.
    driver = webdriver.Chrome(service=Service(executable_path=_binary("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_report(driver: Any, path: Path) -> PageView:
    driver.get(path.resolve().as_uri())
    data = driver.execute_script(_CHART_SCRIPT)
    errors = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    return PageView(console_errors=errors, **data)
