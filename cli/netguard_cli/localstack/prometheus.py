"""A real Prometheus (Debian's `prometheus` 2.42) on loopback, evaluating netguard's rules from amp/.

`scale_rules` shortens every `for:`, range selector and group interval by one factor (with floors),
so a demo sees in seconds what production sees in minutes; `promtool check rules` validates the
result. `start_prometheus` scrapes one exporter target per simulated node and alerts to Alertmanager.
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

from netguard_cli.localstack.exporter import SimulatedNode
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


def check_rules(paths: Sequence[Path], *, promtool: str | None = None) -> str:
    """Run `promtool check rules`; returns its output, raises StartupError when it fails."""
    binary = promtool or shutil.which("promtool")
    if binary is None:
        raise StartupError("promtool not found (install Debian's prometheus)")
    result = subprocess.run(
        [binary, "check", "rules", *map(str, paths)], capture_output=True, text=True, timeout=60, check=False
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise StartupError(f"promtool check rules failed:\n{output}")
    return output


def render_config(
    *,
    exporter_port: int,
    nodes: Sequence[SimulatedNode],
    cluster: str,
    alertmanager_url: str,
    rule_files: Sequence[Path],
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
) -> dict[str, Any]:
    """prometheus.yml: one static target per node, labelled as the real exporter would be, and
    CoreDNS's forward counters (per pod) for remediation's packets-per-node estimate."""
    alertmanager_host = urllib.parse.urlsplit(alertmanager_url).netloc
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "rule_files": [str(p) for p in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_host]}]}]},
        "scrape_configs": [
            {
                "job_name": "ethtool-exporter",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{exporter_port}"],
                        "labels": {
                            "__metrics_path__": f"/metrics/{node.name}",
                            "instance": node.instance,
                            "node": node.name,
                            "cluster": cluster,
                        },
                    }
                    for node in nodes
                ],
            },
            {
                "job_name": "coredns",
                "metrics_path": "/metrics-coredns",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{exporter_port}"], "labels": {"cluster": cluster}}
                ],
            },
        ],
    }


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
