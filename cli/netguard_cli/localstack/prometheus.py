"""A real Prometheus (Debian's `prometheus` 2.42) on loopback, evaluating netguard's rules from amp/.

`scale_rules` shortens every `for:`, range selector and group interval by one factor (with floors),
so a demo sees in seconds what production sees in minutes; `promtool check rules` validates the
result. The scrape jobs are amp/scrape.yaml's, relabelling included, on file-based targets that carry
the labels EKS pod discovery would (`LocalTargets`); `start_prometheus` runs it, alerting to Alertmanager.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netguard_cli.localstack.exporter import Dialect, EthtoolExporter
from netguard_cli.localstack.processes import (
    Managed,
    StartupError,
    free_port,
    start_ready,
    stop,
)

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION = re.compile(r"(\d+)(ms|[smhdwy])")
_RANGE = re.compile(r"\[([0-9smhdwy]+)(:([0-9smhdwy]*))?\]")
_STRING = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)""")
FOR_ANNOTATIONS = ("for", "netguard_for", "persist_for")
"""Annotations that restate a rule's `for:` for netguard's persistence gate; scaled with it."""


@dataclass(frozen=True)
class RuleScale:
    """How to shorten the shipped rules for a local run (1.0 keeps them as shipped)."""

    factor: float = 1.0
    """Every duration is multiplied by this, e.g. 1/30 turns `for: 5m` into `for: 10s`."""
    min_for_seconds: float = 2.0
    min_range_seconds: float = 10.0
    """Range selectors stay at least this long, so `rate()` has several scrapes to work with."""
    min_interval_seconds: float = 1.0


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as `1h30m` or `90s`."""
    text = text.strip()
    matches = list(_DURATION.finditer(text))
    if not matches or "".join(m.group(0) for m in matches) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(m.group(1)) * _UNITS[m.group(2)] for m in matches)


def format_duration(seconds: float) -> str:
    """A Prometheus duration in whole seconds (milliseconds under one second)."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    return f"{round(seconds)}s"


def _scaled(text: str, factor: float, floor: float) -> str:
    seconds = parse_duration(text)
    if seconds == 0:
        return text
    return format_duration(max(floor, seconds * factor))


def scale_expr(expr: str, scale: RuleScale) -> str:
    """Range selectors and subquery windows in a PromQL expression, scaled."""

    def replace(match: re.Match[str]) -> str:
        window = _scaled(match.group(1), scale.factor, scale.min_range_seconds)
        if match.group(2) is None:
            return f"[{window}]"
        step = match.group(3)
        return f"[{window}:{_scaled(step, scale.factor, scale.min_interval_seconds) if step else ''}]"

    # Only outside string literals: a label value may contain anything, brackets included.
    parts = _STRING.split(expr)
    return "".join(part if index % 2 else _RANGE.sub(replace, part) for index, part in enumerate(parts))


def scale_rules(rules: Mapping[str, Any], scale: RuleScale) -> dict[str, Any]:
    """A copy of a rule file (`groups:`) with `for:`, `keep_firing_for:`, ranges and intervals scaled."""
    groups = []
    for group in rules.get("groups") or []:
        new_group = dict(group)
        if "interval" in new_group:
            new_group["interval"] = _scaled(
                str(new_group["interval"]), scale.factor, scale.min_interval_seconds
            )
        new_rules = []
        for rule in group.get("rules") or []:
            new_rule = dict(rule)
            new_rule["expr"] = scale_expr(str(rule["expr"]), scale)
            for key in ("for", "keep_firing_for"):
                if key in new_rule:
                    new_rule[key] = _scaled(str(new_rule[key]), scale.factor, scale.min_for_seconds)
            annotations = dict(rule.get("annotations") or {})
            for key in FOR_ANNOTATIONS:
                if key in annotations and _DURATION.fullmatch(str(annotations[key]).strip() or "x"):
                    annotations[key] = _scaled(str(annotations[key]), scale.factor, scale.min_for_seconds)
            if annotations:
                new_rule["annotations"] = annotations
            new_rules.append(new_rule)
        new_group["rules"] = new_rules
        groups.append(new_group)
    return {**rules, "groups": groups}


def alert_for_durations(rules: Mapping[str, Any], *, label: tuple[str, str] | None = None) -> dict[str, str]:
    """Alert name -> its `for:` (as written), for alerting rules that have one (and, with `label`,
    set that label to that value: remediation's rules, passed as REMEDIATION_RULES)."""
    return {
        str(rule["alert"]): str(rule["for"])
        for group in rules.get("groups") or []
        for rule in group.get("rules") or []
        if "alert" in rule
        and "for" in rule
        and (label is None or (rule.get("labels") or {}).get(label[0]) == label[1])
    }


def load_rule_files(amp_dir: Path) -> dict[str, dict[str, Any]]:
    """Every rule file in amp/ (YAML documents with a top-level `groups:` list), by file name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted([*amp_dir.glob("*.yaml"), *amp_dir.glob("*.yml"), *amp_dir.glob("rules/*.yaml")]):
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and isinstance(data.get("groups"), list):
            found[path.name] = data
    return found


def _promtool(args: Sequence[str], promtool: str | None) -> str:
    """Run `promtool ARGS`; returns its output, raises StartupError when it fails."""
    binary = promtool or shutil.which("promtool")
    if binary is None:
        raise StartupError("promtool not found (install Debian's prometheus)")
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise StartupError(f"promtool {' '.join(args[:2])} failed:\n{output}")
    return output


def check_rules(paths: Sequence[Path], *, promtool: str | None = None) -> str:
    """Run `promtool check rules`; returns its output, raises StartupError when it fails."""
    return _promtool(["check", "rules", *map(str, paths)], promtool)


SCRAPE_FILE = "scrape.yaml"
"""amp/'s scrape configuration: the managed collector's, and the local Prometheus' jobs."""
CLUSTER_PLACEHOLDER = "${ClusterName}"
"""The one Fn::Sub placeholder in amp/scrape.yaml (template.yaml fills it; so does the local stack)."""
EXPORTER_JOB = "ena-exporters"
COREDNS_JOB = "coredns"
POD_APP_LABEL = {
    Dialect.NODE_EXPORTER: "prometheus-node-exporter",
    Dialect.ETHTOOL_EXPORTER: "ethtool-exporter",
}
"""`app.kubernetes.io/name` of each exporter's pods (the chart's, and deploy/collection/'s)."""


def load_scrape_config(amp_dir: Path, *, cluster: str) -> dict[str, Any]:
    """amp/scrape.yaml with the cluster's name where template.yaml's Fn::Sub would put it."""
    text = (amp_dir / SCRAPE_FILE).read_text().replace(CLUSTER_PLACEHOLDER, cluster)
    config: dict[str, Any] = yaml.safe_load(text)
    return config


def file_sd_jobs(scrape: Mapping[str, Any], *, targets_dir: Path, proxy_url: str) -> list[dict[str, Any]]:
    """The scrape jobs of `scrape` with EKS discovery swapped for a targets file per job, scraped
    through `proxy_url` (the simulated addresses are not reachable); relabelling is kept as it is."""
    jobs = []
    for job in scrape.get("scrape_configs") or []:
        local = {k: v for k, v in job.items() if k != "kubernetes_sd_configs"}
        local["file_sd_configs"] = [
            {"files": [str(targets_dir / f"{job['job_name']}.json")], "refresh_interval": "5s"}
        ]
        local["proxy_url"] = proxy_url
        jobs.append(local)
    return jobs


def _pod_target(address: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """One file_sd target group carrying what Kubernetes pod discovery would attach."""
    host, port = address.rsplit(":", 1)
    meta = {
        "__meta_kubernetes_pod_ip": host,
        "__meta_kubernetes_pod_container_port_number": port,
        "__meta_kubernetes_pod_container_port_protocol": "TCP",
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_ready": "true",
        **labels,
    }
    return {"targets": [address], "labels": meta}


def discovered_targets(exporter: EthtoolExporter) -> dict[str, list[dict[str, Any]]]:
    """Job -> target groups as EKS pod discovery would find them: one exporter pod per node (host
    network, so the node's address), one target per CoreDNS pod, no kube-state-metrics."""
    app = POD_APP_LABEL[exporter.dialect]
    exporters = [
        _pod_target(
            exporter.instance(name),
            {
                "__meta_kubernetes_namespace": "netguard-collection",
                "__meta_kubernetes_pod_name": f"{app}-{index:05x}",
                "__meta_kubernetes_pod_node_name": name,
                "__meta_kubernetes_pod_host_ip": node.internal_ip,
                "__meta_kubernetes_pod_container_name": exporter.dialect.value,
                "__meta_kubernetes_pod_container_port_name": "metrics",
                "__meta_kubernetes_pod_label_app_kubernetes_io_name": app,
            },
        )
        for index, (name, node) in enumerate(sorted(exporter.nodes.items()))
    ]
    coredns = [
        _pod_target(
            address,
            {
                "__meta_kubernetes_namespace": "kube-system",
                "__meta_kubernetes_pod_name": pod,
                "__meta_kubernetes_pod_container_name": "coredns",
                "__meta_kubernetes_pod_container_port_name": "metrics",
                "__meta_kubernetes_pod_label_k8s_app": "kube-dns",
            },
        )
        for pod, address in exporter.coredns_pods().items()
    ]
    return {EXPORTER_JOB: exporters, COREDNS_JOB: coredns}


class LocalTargets:
    """The targets files the local Prometheus discovers from, rewritten when CoreDNS pods change."""

    def __init__(self, targets_dir: Path, exporter: EthtoolExporter, jobs: Sequence[str]) -> None:
        self.dir = targets_dir
        self._exporter = exporter
        self._jobs = tuple(jobs)
        self.dir.mkdir(parents=True, exist_ok=True)

    def write(self) -> None:
        found = discovered_targets(self._exporter)
        for job in self._jobs:
            path = self.dir / f"{job}.json"
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(found.get(job, []), indent=1))
            temporary.replace(path)  # atomic: Prometheus never reads half a file


def local_scrape_jobs(
    exporter: EthtoolExporter, *, amp_dir: Path, cluster: str, targets_dir: Path
) -> list[dict[str, Any]]:
    """amp/scrape.yaml's jobs for a local Prometheus: their targets files written now and again
    whenever the exporter's CoreDNS pods change, scraped through the exporter."""
    scrape = load_scrape_config(amp_dir, cluster=cluster)
    jobs = file_sd_jobs(scrape, targets_dir=targets_dir, proxy_url=exporter.url)
    targets = LocalTargets(targets_dir, exporter, [job["job_name"] for job in jobs])
    targets.write()
    exporter.on_pods_changed = targets.write
    return jobs


def render_config(
    *,
    scrape_configs: Sequence[Mapping[str, Any]],
    alertmanager_url: str,
    rule_files: Sequence[Path],
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
) -> dict[str, Any]:
    """prometheus.yml: the given scrape jobs (amp/scrape.yaml's, see `file_sd_jobs`), the rules,
    and Alertmanager."""
    alertmanager_host = urllib.parse.urlsplit(alertmanager_url).netloc
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "rule_files": [str(p) for p in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_host]}]}]},
        "scrape_configs": [dict(job) for job in scrape_configs],
    }


def check_config(path: Path, *, promtool: str | None = None) -> str:
    """Run `promtool check config`; returns its output, raises StartupError when it fails."""
    return _promtool(["check", "config", str(path)], promtool)


@dataclass
class RunningPrometheus:
    url: str
    managed: Managed
    workdir: Path

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 -- loopback only
            data = json.loads(response.read())
        result: list[dict[str, Any]] = data.get("data", {}).get("result", [])
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts as Prometheus sees them (pending or firing)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=10) as response:  # noqa: S310
            alerts: list[dict[str, Any]] = json.loads(response.read()).get("data", {}).get("alerts", [])
        return alerts

    def stop(self) -> None:
        stop(self.managed)


def start_prometheus(
    config: Mapping[str, Any], *, workdir: Path, timeout: float = 30.0, die_with_parent: bool = False
) -> RunningPrometheus:
    binary = shutil.which("prometheus")
    if binary is None:
        raise StartupError("no prometheus binary on PATH (install Debian's prometheus)")
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=2h",
        "--web.enable-lifecycle",
        "--log.level=info",
    ]
    managed = start_ready(
        "prometheus",
        argv,
        ready_url=f"{url}/-/ready",
        log_dir=workdir,
        timeout=timeout,
        die_with_parent=die_with_parent,
    )
    return RunningPrometheus(url=url, managed=managed, workdir=workdir)
