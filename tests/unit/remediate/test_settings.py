"""`Settings.from_env` for remediation: defaults, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard.clients.eks import ClusterAccess
from netguard.config.durations import parse_duration
from netguard.config.errors import UnknownCluster
from netguard.config.remediate import SHIPPED_REMEDIATION_LABEL, Mode, Settings
from netguard.errors import ConfigError

BASE = {
    "ENRICHED_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:enriched",
    "STATE_TABLE": "state",
    "FOLLOWUP_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/followups",
    "KILL_SWITCH_PARAMETER": "/netguard/remediation/kill-switch",
    "CLUSTERS": '{"prod": {"eks_name": "prod-eks", "region": "eu-west-1"}}',
    "AWS_REGION": "us-east-1",
}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_defaults() -> None:
    s = settings()
    assert (s.coredns_mode, s.nodelocal_mode) == (Mode.ENFORCE, Mode.DRY_RUN)
    assert (s.coredns_max_replicas, s.coredns_step, s.persistence_seconds) == (10, 2, 300)
    assert (s.revert_coredns, s.revert_nodelocal, s.prometheus_url) == (False, False, None)
    assert s.default_cluster == "prod"
    assert s.cluster("").access.name == "prod-eks"
    assert s.cluster("prod").region == "eu-west-1"
    assert s.policy.max_replicas == 10
    assert (s.spread_mode, s.policy.headroom, s.policy.max_steps) == (Mode.ENFORCE, 0.8, 4)


def test_values() -> None:
    s = settings(
        COREDNS_MODE="dry-run",
        NODELOCAL_MODE="OFF",
        COREDNS_MAX_REPLICAS="6",
        COREDNS_STEP="1",
        REVERT_NODELOCAL="true",
        REMEDIATION_RULES='{"LinklocalPersisting": "5m", "Other": 90}',
        REMEDIATION_LABEL="team=dns",
        CLUSTER_LABEL="k8s_cluster",
        PROMETHEUS_URL="http://127.0.0.1:9090",
    )
    assert (s.coredns_mode, s.nodelocal_mode, s.coredns_max_replicas, s.coredns_step) == (
        Mode.DRY_RUN,
        Mode.OFF,
        6,
        1,
    )
    assert s.revert_nodelocal
    # The operator's list replaces the shipped rule: remediation acts for these rules only.
    assert s.rules.for_seconds == {"LinklocalPersisting": 300, "Other": 90}
    assert s.rules.label == ("team", "dns")
    assert s.cluster_label == "k8s_cluster"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STATE_TABLE": ""}, "STATE_TABLE is required"),
        ({"COREDNS_MODE": "maybe"}, "COREDNS_MODE='maybe' must be one of: enforce, dry-run, off"),
        ({"COREDNS_STEP": "9"}, "COREDNS_STEP=9 is above the maximum of 5"),
        ({"COREDNS_MAX_REPLICAS": "1"}, "COREDNS_MAX_REPLICAS=1 is below the minimum of 2"),
        ({"CLUSTERS": ""}, "DEFAULT_CLUSTER or CLUSTERS is required"),
        ({"CLUSTERS": "[1]"}, "CLUSTERS must be a JSON object"),
        ({"CLUSTERS": '{"a": 1}'}, "CLUSTERS['a'] must be an object"),
        ({"CLUSTERS": '{"a": {"eks": "x"}}'}, "unknown keys ['eks']"),
        ({"DEFAULT_CLUSTER": "nope"}, "DEFAULT_CLUSTER='nope' is not a key of CLUSTERS"),
        ({"REMEDIATION_RULES": '{"A": "soon"}'}, "REMEDIATION_RULES['A']='soon' is not a duration"),
        ({"REMEDIATION_RULES": '{"A": true}'}, "REMEDIATION_RULES['A']=True is not a duration"),
        ({"REMEDIATION_RULES": '["A"]'}, "REMEDIATION_RULES must be a JSON object"),
        ({"PERSISTING_RULES": '{"A": "5m"}'}, "PERSISTING_RULES is replaced by REMEDIATION_RULES"),
        ({"REMEDIATION_LABEL": "netguard_remediate"}, "REMEDIATION_LABEL='netguard_remediate' must be"),
        ({"REMEDIATION_LABEL": "a-b=dns"}, "REMEDIATION_LABEL='a-b=dns' must be name=value"),
        ({"CLUSTER_LABEL": 'cluster"} or vector(1) #'}, "must be a Prometheus label name"),
        ({"PROMETHEUS_URL": "localhost:9090"}, "PROMETHEUS_URL='localhost:9090' must start with http"),
        ({"REVERT_COREDNS": "perhaps"}, "REVERT_COREDNS='perhaps' must be true or false"),
        ({"LINKLOCAL_HEADROOM": "80"}, "LINKLOCAL_HEADROOM=80.0 must be a fraction of the 1024 packets/s"),
        ({"LINKLOCAL_HEADROOM": "lots"}, "LINKLOCAL_HEADROOM='lots' is not a number"),
        ({"SPREAD_MODE": "sometimes"}, "SPREAD_MODE='sometimes' must be one of: enforce, dry-run, off"),
        ({"MAX_STEPS": "0"}, "MAX_STEPS=0 is below the minimum of 1"),
    ],
)
def test_errors_name_the_variable(env: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings(**env)
    assert message in str(info.value)


def test_unknown_cluster() -> None:
    s = settings(CLUSTERS='{"a": {}, "b": {}}')
    assert s.default_cluster is None
    with pytest.raises(UnknownCluster, match="configured: a, b"):
        s.cluster("c")


def test_default_cluster_alone_and_kubeconfig() -> None:
    """As for enrich: DEFAULT_CLUSTER alone names one cluster; KUBECONFIG applies to it."""
    s = settings(CLUSTERS="", DEFAULT_CLUSTER="local", KUBECONFIG=".netguard/remediate.kubeconfig")
    assert s.cluster("").access == ClusterAccess(
        name="local", region="us-east-1", kubeconfig=".netguard/remediate.kubeconfig"
    )


def test_amp_region_from_url() -> None:
    s = settings(PROMETHEUS_URL="https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/")
    assert s.prometheus_sigv4_region == "eu-west-1"
    assert s.prometheus_url == "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1"


def test_shipped_rule_is_the_default() -> None:
    """Unset, remediation acts for exactly amp/rules.yaml's rules that set `netguard_remediate`, with
    their `for:`; queries are scoped by `cluster`, and `none` turns scoping off."""
    rules_file = yaml.safe_load((Path(__file__).parents[3] / "amp" / "rules.yaml").read_text())
    name, value = SHIPPED_REMEDIATION_LABEL
    shipped = {
        rule["alert"]: parse_duration(rule["for"])
        for group in rules_file["groups"]
        for rule in group["rules"]
        if (rule.get("labels") or {}).get(name) == value
    }
    s = settings()
    assert shipped == dict(s.rules.for_seconds) == {"LinklocalAllowanceExceededPersisting": 300}
    assert s.cluster_label == "cluster"
    assert settings(CLUSTER_LABEL="none").cluster_label is None
