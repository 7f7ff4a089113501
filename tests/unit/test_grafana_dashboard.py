"""deploy/grafana/netguard.json: a well-formed dashboard whose queries only name metrics that exist
where it will run: the normalized series the AMP rules record (amp/rules.yaml; never an exporter's own
names, so it works with either dialect), kube-state-metrics' CoreDNS and NodeLocal DNSCache series,
and Prometheus' own ALERTS."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard_cli.localstack.exporter import (
    ALLOWANCE_COUNTERS,
    CONNTRACK_AVAILABLE,
    EthtoolExporter,
    SimulatedNode,
)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "netguard.json"
KUBE_STATE_METRICS = {
    "kube_deployment_status_replicas",
    "kube_deployment_status_replicas_available",
    "kube_deployment_spec_replicas",
    "kube_daemonset_status_desired_number_scheduled",
}
"""kube-state-metrics series the dashboard reads (CoreDNS replicas, the NodeLocal DNSCache DaemonSet)."""
PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (functions, keywords, labels, durations and variables removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?\w+\}?", " ", expr)  # Grafana variables
    expr = re.sub(r"\boffset\s+\w+", " ", expr)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        rest = expr[match.end() :].lstrip()
        if rest.startswith("(") or match.group() in PROMQL_WORDS:
            continue
        names.add(match.group())
    return names


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, expr) for every panel target and annotation."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets") or []:
            yield f"panel {panel['title']!r}", target["expr"]
    for annotation in dashboard["annotations"]["list"]:
        if annotation.get("expr"):
            yield f"annotation {annotation['name']!r}", annotation["expr"]


def rules_metrics() -> tuple[set[str], set[str]]:
    """(metrics the rules record, alert names)."""
    rules = yaml.safe_load((ROOT / "amp" / "rules.yaml").read_text())
    metrics, alerts = set(), set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                metrics.add(rule["record"])
            if "alert" in rule:
                alerts.add(rule["alert"])
    return metrics, alerts


def exporter_series(dialect: str) -> set[str]:
    """Metric names one exporter dialect exposes."""
    exporter = EthtoolExporter([SimulatedNode("n1", "10.0.0.1")], dialect=dialect)
    samples = [line for line in exporter.render("n1").splitlines() if line and not line.startswith("#")]
    names = [re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s) for s in samples]
    assert all(names), samples  # every sample line starts with its metric name
    return {name.group() for name in names if name}


class TestSchema:
    def test_basics(self, dashboard: dict[str, Any]) -> None:
        assert isinstance(dashboard["schemaVersion"], int)
        assert dashboard["uid"]
        assert dashboard["title"]
        assert dashboard["panels"]

    def test_panel_ids_unique_and_every_panel_queries(self, dashboard: dict[str, Any]) -> None:
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids))
        for panel in dashboard["panels"]:
            assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
            if panel["type"] == "row":
                continue
            assert panel["targets"], panel["title"]
            ref_ids = [t["refId"] for t in panel["targets"]]
            assert len(ref_ids) == len(set(ref_ids)), panel["title"]
            for target in panel["targets"]:
                assert target["expr"].strip(), panel["title"]
                assert target["datasource"]["uid"] == "${datasource}", panel["title"]

    def test_datasource_variable(self, dashboard: dict[str, Any]) -> None:
        """The AMP workspace is chosen through a Prometheus data source variable, used everywhere."""
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for name in ("cluster", "node"):
            assert variables[name]["datasource"]["uid"] == "${datasource}"
        for annotation in dashboard["annotations"]["list"]:
            if annotation.get("expr"):
                assert annotation["datasource"]["uid"] == "${datasource}"


class TestMetrics:
    def test_metric_names_parser(self) -> None:
        expr = 'sum by (node) (rate(node_net_ethtool{type="a"}[$__rate_interval])) and x:y offset 5m'
        assert metric_names(expr) == {"node_net_ethtool", "x:y"}

    def test_every_metric_exists_where_it_runs(self, dashboard: dict[str, Any]) -> None:
        """Each queried metric is one the rules record, kube-state-metrics serves (listed here), or
        Prometheus' ALERTS; no exporter dialect's own names."""
        rule_metrics, _ = rules_metrics()
        known = rule_metrics | KUBE_STATE_METRICS | {"ALERTS"}
        dialects = exporter_series("node-exporter") | exporter_series("ethtool-exporter")
        for where, expr in queries(dashboard):
            unknown = metric_names(expr) - known
            assert not unknown, f"{where} queries {unknown}"
            assert not metric_names(expr) & dialects, where
        variables = " ".join(str(v.get("query")) for v in dashboard["templating"]["list"])
        assert not any(name in variables for name in dialects)

    def test_the_five_counters_and_conntrack_available(self, dashboard: dict[str, Any]) -> None:
        """One panel per ENA allowance counter (its normalized rate, per device) and one for the
        conntrack gauge."""
        by_type: dict[str, list[str]] = {}
        for _, expr in queries(dashboard):
            for kind in re.findall(r'type="([^"]+)"', expr):
                by_type.setdefault(kind, []).append(expr)
        assert set(by_type) == {*ALLOWANCE_COUNTERS, CONNTRACK_AVAILABLE}
        for counter in ALLOWANCE_COUNTERS:
            assert any(
                "netguard:ena_allowance_exceeded:rate2m{" in e and "device" in e for e in by_type[counter]
            ), counter
        assert any("netguard:ena_allowance_available:min{" in e for e in by_type[CONNTRACK_AVAILABLE])

    def test_coredns_replicas_and_remediation_annotations(self, dashboard: dict[str, Any]) -> None:
        exprs = [e for _, e in queries(dashboard)]
        assert any("kube_deployment_status_replicas{" in e and 'deployment="coredns"' in e for e in exprs)
        names = {a["name"]: a["expr"] for a in dashboard["annotations"]["list"] if a.get("expr")}
        assert any("changes(kube_deployment_spec_replicas" in e for e in names.values())
        assert any('daemonset="node-local-dns"' in e for e in names.values())

    def test_alert_annotation_matches_the_rules_alerts(self, dashboard: dict[str, Any]) -> None:
        """Every alert name pattern in the ALERTS annotation matches an alert amp/rules.yaml defines."""
        _, alerts = rules_metrics()
        [expr] = [a["expr"] for a in dashboard["annotations"]["list"] if "ALERTS" in a.get("expr", "")]
        found = re.search(r'alertname=~"([^"]+)"', expr)
        assert found, expr
        pattern = found.group(1)
        for alternative in pattern.split("|"):
            assert any(re.fullmatch(alternative, a) for a in alerts), alternative
