"""End to end: `netguard local` from a user's shell, exactly the issue's sequence.

`up` (a detached supervisor starts the whole stack), `publish events/sns-amp-json-firing.json`,
`inspect` shows the enriched event and the Slack message, `report` writes an HTML file that a real
browser opens without errors, `down` leaves no process and no listening port behind.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from netguard_cli.commands.local import alive
from tests.support.browser import browser, open_report  # noqa: F401 -- `browser` is a fixture

pytestmark = [pytest.mark.integration, pytest.mark.k8s, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def netguard(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netguard_cli", "local", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def _query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        result: list[dict[str, Any]] = json.loads(response.read())["data"]["result"]
    return result


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(600)
def test_up_publish_inspect_report_down(tmp_path: Path, browser: Any) -> None:  # noqa: F811
    root = tmp_path / "local"
    pids: dict[str, int] = {}
    ports: list[int] = []
    try:
        # The Showmax exporter's names here (node_exporter's are the default, which the scenarios run).
        ok(netguard(root, "up", "--exporter", "ethtool-exporter", timeout=400))
        status = json.loads(ok(netguard(root, "status", "--json")))
        assert status["exporter"] == "ethtool-exporter"
        assert "ethtool-exporter names" in ok(netguard(root, "status"))
        pids, ports = status["pids"], status["ports"]
        assert {"supervisor", "prometheus", "alertmanager", "kube-apiserver", "lambda-enrich"} <= set(pids)
        assert all(listening(p) for p in ports)
        assert "token" not in status  # the control token stays in the state file

        published = ok(netguard(root, "publish", "events/sns-amp-json-firing.json"))
        assert "published 1919 bytes to AlertsTopic (subject '[FIRING:2]'" in published

        deadline = time.monotonic() + 90
        view: dict[str, Any] = {}
        while time.monotonic() < deadline:
            view = json.loads(ok(netguard(root, "inspect", "--json")))
            if view["slack_messages"] and any(
                e["kind"] == "alert_group-firing" for e in view["enriched_events"]
            ):
                break
            time.sleep(2)
        [enriched] = [e for e in view["enriched_events"] if e["kind"] == "alert_group-firing"]
        scraped = _query(
            status["urls"]["prometheus"], 'node_net_ethtool{type="linklocal_allowance_exceeded"}'
        )
        assert len(scraped) == len(status["nodes"])
        assert _query(status["urls"]["prometheus"], "node_ethtool_linklocal_allowance_exceeded") == []
        assert enriched["event"]["alertname"] == "LinkLocalAllowanceExceeded"
        assert {a["alert"]["labels"]["node"] for a in enriched["event"]["alerts"]} == {
            "ip-10-0-1-23.ec2.internal",
            "ip-10-0-2-7.ec2.internal",
        }
        text = ok(netguard(root, "inspect"))
        assert "== Enriched events" in text
        assert "alert_group-firing  LinkLocalAllowanceExceeded" in text
        assert "# 🔴 FIRING: LinkLocalAllowanceExceeded (2) on prod" in text  # Slack, as a reader sees it
        assert "== Cluster DNS" in text
        assert "CoreDNS replicas 2" in text

        report = tmp_path / "report.html"
        assert f"wrote {report}" in ok(netguard(root, "report", "--output", str(report)))
        page = open_report(browser, report)
        assert page.console_errors == []
        assert page.resources == []
        assert "published" in page.markers
        assert len(page.series_of("replicas")) == 1
        assert page.slack >= 1
    finally:
        stopped = netguard(root, "down", timeout=180)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stopped" in stopped.stdout
    left = {name: pid for name, pid in pids.items() if alive(pid)}
    assert left == {}
    assert [p for p in ports if listening(p)] == []
    assert not (root / "state.json").exists()
    assert f"the session's report: {root / 'report.html'}" in stopped.stdout
    timeline = json.loads((root / "timeline.json").read_text())
    assert "published" in [m["kind"] for m in timeline["markers"]]
    assert "no local stack running" in ok(netguard(root, "down"))
