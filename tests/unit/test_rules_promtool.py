"""`promtool test rules` on amp/rules.yaml: the hand-written cases in amp/tests/, and a matrix built
here for every alert in both exporter dialects (node_exporter's `node_ethtool_<stat>` and the Showmax
exporter's `node_net_ethtool{type}`): quiet on a zero rate, not firing one evaluation before its
`for:`, firing at it with `type`, `node`, `cluster` and the address, resolved once drops stop.

The matrix is derived from the rules themselves, so an alert added later is tested without a new
case; annotations are left out of its copy of the rules (amp/tests/ checks them), because promtool
compares them exactly and they quote the current rate.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard_cli.localstack.alerting import BUILTIN_RULES
from netguard_cli.localstack.prometheus import format_duration, parse_duration

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "amp" / "rules.yaml"
STEP = 30
"""Seconds between samples and between evaluations: the managed scraper's minimum interval."""
QUIET_SAMPLES = 20
"""Samples before the drops start: the counters are flat (a zero rate) until then."""
NODE, IP = "ip-10-0-1-5.ec2.internal", "10.0.1.5"
OTHER_NODE, OTHER_IP = "ip-10-0-2-6.ec2.internal", "10.0.2.6"
DIALECTS = {"node-exporter": 9100, "ethtool-exporter": 9417}
"""Exporter -> the port its `instance` label carries (host networking)."""


def promtool() -> str:
    binary = shutil.which("promtool")
    assert binary, "promtool not found: `make system-deps` installs Debian's prometheus"
    return binary


def run_promtool(tmp_path: Path, rules: dict[str, Any], tests: list[dict[str, Any]]) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    test_file = tmp_path / "test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": ["rules.yaml"], "evaluation_interval": f"{STEP}s", "tests": tests}, sort_keys=False
        )
    )
    promtool_test(test_file)


def promtool_test(*files: Path) -> None:
    command = [promtool(), "test", "rules", *map(str, files)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def series(dialect: str, stat: str, *, node: str, ip: str, device: str = "ens5") -> str:
    """One raw series as the scraper stores it (after relabelling: `node`, `cluster`, `job`)."""
    address = f"{ip}:{DIALECTS[dialect]}"
    common = f'job="{dialect}",instance="{address}",cluster="prod",node="{node}",device="{device}"'
    if dialect == "node-exporter":
        return f"node_ethtool_{stat}{{{common}}}"
    return f'node_net_ethtool{{{common},type="{stat}"}}'


@dataclass(frozen=True)
class AlertRule:
    name: str
    stat: str
    expr: str
    hold: int
    """The rule's `for:` in seconds (0 without one)."""
    labels: dict[str, str]


def alert_rules() -> Iterator[AlertRule]:
    """Alerting rules over the normalized series (the absent-series rules have their own test)."""
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule or "absent" in rule["expr"] or "kube_node_info" in rule["expr"]:
                continue
            (stat,) = re.findall(r'type="([a-z_]+)"', rule["expr"])
            hold = int(parse_duration(rule["for"])) if "for" in rule else 0
            yield AlertRule(rule["alert"], stat, rule["expr"], hold, dict(rule.get("labels") or {}))


def without_annotations() -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return rules


def at(seconds: int) -> str:
    return format_duration(seconds) if seconds else "0s"


def matrix_case(rule: AlertRule, dialect: str) -> dict[str, Any]:
    """Flat (or comfortable) for QUIET_SAMPLES, then dropping (or low) long enough to fire, then
    flat again; another node stays at a zero rate throughout."""
    busy = rule.hold // STEP + 10
    if rule.stat.endswith("_available"):  # a gauge: low is the trouble
        values = f"131072x{QUIET_SAMPLES} 1000x{busy - 1} 131072x20"
        other = f"131072x{QUIET_SAMPLES + busy + 20}"
        settled = (QUIET_SAMPLES + busy + 1) * STEP
    else:  # a counter: growing 2 packets/s is the trouble
        values = f"500x{QUIET_SAMPLES} 560+60x{busy - 1} {500 + 60 * busy}x20"
        other = f"7x{QUIET_SAMPLES + busy + 20}"
        settled = (QUIET_SAMPLES + busy) * STEP + 120 + STEP  # the 2m window has left the drops
    active = (QUIET_SAMPLES + 1) * STEP  # the first evaluation that sees the trouble
    fires = active + rule.hold
    labels = {**rule.labels, "type": rule.stat, "cluster": "prod", "node": NODE, "instance": IP}
    labels["device"] = "ens5"
    checks = [(QUIET_SAMPLES * STEP, []), (fires, [{"exp_labels": labels}]), (settled, [])]
    if rule.hold:
        checks.append((fires - STEP, []))
    return {
        "name": f"{rule.name} from {dialect}",
        "interval": f"{STEP}s",
        "input_series": [
            {"series": series(dialect, rule.stat, node=NODE, ip=IP), "values": values},
            {"series": series(dialect, rule.stat, node=OTHER_NODE, ip=OTHER_IP), "values": other},
        ],
        "alert_rule_test": [
            {"alertname": rule.name, "eval_time": at(t), "exp_alerts": expected} for t, expected in checks
        ],
    }


RULE_LIST = list(alert_rules())


def test_the_matrix_covers_every_allowance() -> None:
    """Every ENA statistic has an alert over the normalized series, so the matrix is not empty by accident."""
    assert {r.stat for r in RULE_LIST} == {
        "linklocal_allowance_exceeded",
        "pps_allowance_exceeded",
        "bw_in_allowance_exceeded",
        "bw_out_allowance_exceeded",
        "conntrack_allowance_exceeded",
        "conntrack_allowance_available",
    }
    persisting = next(r for r in RULE_LIST if r.name == "LinklocalAllowanceExceededPersisting")
    assert persisting.hold == 300
    assert persisting.labels["netguard_remediate"] == "dns"


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("rule", RULE_LIST, ids=lambda r: r.name)
def test_alert_fires_after_its_for_and_resolves(tmp_path: Path, rule: AlertRule, dialect: str) -> None:
    """Not on a zero rate, not one evaluation before `for:`, at `for:` with the normalized labels,
    and resolved once the trouble is over."""
    run_promtool(tmp_path, without_annotations(), [matrix_case(rule, dialect)])


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_absent_rules_fire_when_the_exporter_goes_away(tmp_path: Path, dialect: str) -> None:
    """Every node's series stop at 10 minutes: the per-node rule (kube-state-metrics lists the node) and
    the workspace-wide rule fire after their `for:`, not before."""
    rules = without_annotations()
    holds = {
        rule["alert"]: int(parse_duration(rule["for"]))
        for group in rules["groups"]
        for rule in group["rules"]
        if rule.get("alert") in {"EthtoolLinklocalMetricAbsent", "EthtoolNodeMetricsAbsent"}
    }
    gone = 10 * 60 + 120  # the last sample, then the 2m rate window
    stat = "linklocal_allowance_exceeded"
    case = {
        "name": f"absent from {dialect}",
        "interval": "1m",
        "input_series": [
            {"series": series(dialect, stat, node=NODE, ip=IP), "values": "0+5x10"},
            {
                "series": f'kube_node_info{{cluster="prod",node="{NODE}",internal_ip="{IP}"}}',
                "values": "1x90",
            },
        ],
        "alert_rule_test": [
            {"alertname": name, "eval_time": at(t), "exp_alerts": expected}
            for name, hold in holds.items()
            for t, expected in (
                (gone + hold - 60, []),
                (
                    gone + hold + 120,
                    [
                        {
                            "exp_labels": {"severity": "warning", "type": stat}
                            | (
                                {"cluster": "prod", "node": NODE, "instance": IP, "internal_ip": IP}
                                if name == "EthtoolNodeMetricsAbsent"
                                else {}
                            )
                        }
                    ],
                ),
            )
        ],
    }
    run_promtool(tmp_path, rules, [case])


def test_hand_written_cases() -> None:
    """amp/tests/: both dialects on one node alert once; ens5 and eth1 alert; annotations render."""
    files = sorted((ROOT / "amp" / "tests").glob("*.yaml"))
    assert files
    promtool_test(*files)


def test_only_the_recordings_read_the_dialects() -> None:
    """Exporter names appear only in the two recording rules; no rule filters on `device`; every
    alert either matches a `type` or sets one (absent() keeps its equality matchers as labels)."""
    dialect_names = re.compile(r"node_net_ethtool|node_ethtool_|ethtool_[a-z]")
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            assert "device" not in re.sub(r"by \([^)]*\)", "", rule["expr"]), rule
            if "alert" in rule:
                assert not dialect_names.search(rule["expr"]), rule["alert"]
                assert re.search(r'type="[a-z_]+"', rule["expr"]) or "type" in rule.get("labels", {}), rule
            else:
                assert rule["record"].startswith("netguard:ena_allowance_")


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_local_fallback_rule_reads_both_dialects(tmp_path: Path, dialect: str) -> None:
    """The local stack's stand-in rule (used only when amp/ holds no rule file) fires in either dialect."""
    stat = "linklocal_allowance_exceeded"
    case = {
        "name": f"fallback from {dialect}",
        "interval": f"{STEP}s",
        "input_series": [{"series": series(dialect, stat, node=NODE, ip=IP), "values": "0+60x30"}],
        "alert_rule_test": [
            {"alertname": "LinkLocalAllowanceExceeded", "eval_time": "4m", "exp_alerts": []},
            {
                "alertname": "LinkLocalAllowanceExceeded",
                "eval_time": "10m",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "severity": "critical",
                            "type": stat,
                            "job": dialect,
                            "instance": f"{IP}:{DIALECTS[dialect]}",
                            "cluster": "prod",
                            "node": NODE,
                            "device": "ens5",
                        }
                    }
                ],
            },
        ],
    }
    rules = {"groups": [dict(g) for g in BUILTIN_RULES["groups"]]}
    for group in rules["groups"]:
        group["rules"] = [{k: v for k, v in r.items() if k != "annotations"} for r in group["rules"]]
    run_promtool(tmp_path, rules, [case])
