"""Settings.from_env for the enrichment function: defaults, clusters, clear errors."""

from __future__ import annotations

import json

import pytest

from netguard.config.enrich import Settings
from netguard.errors import ConfigError

BASE = {
    "ENRICHED_TOPIC_ARN": "arn:aws:sns:us-east-1:1:enriched",
    "STATE_TABLE": "state",
    "AWS_REGION": "eu-west-1",
}


def test_minimal() -> None:
    s = Settings.from_env({**BASE, "DEFAULT_CLUSTER": "prod"})
    assert s.default_cluster == "prod"
    assert s.clusters["prod"].eks_name == "prod"
    assert s.clusters["prod"].region == "eu-west-1"
    assert s.cluster_label == "cluster"
    assert s.raw_bucket is None
    assert s.prometheus_url is None


def test_clusters_and_kubeconfig_for_the_default() -> None:
    clusters = {"prod": {"eks_name": "prod-eks", "region": "us-west-2"}, "dev": {"kubeconfig": "/k/dev"}}
    s = Settings.from_env(
        {
            **BASE,
            "CLUSTERS": json.dumps(clusters),
            "DEFAULT_CLUSTER": "prod",
            "KUBECONFIG": "/k/prod",
            "CLUSTER_LABEL": "eks_cluster",
        }
    )
    assert s.clusters["prod"].access.name == "prod-eks"
    assert s.clusters["prod"].kubeconfig == "/k/prod"
    assert s.clusters["dev"].kubeconfig == "/k/dev"
    assert s.clusters["dev"].region == "eu-west-1"
    assert s.cluster_label == "eks_cluster"


def test_single_cluster_is_the_default() -> None:
    assert Settings.from_env({**BASE, "CLUSTERS": '{"only": {}}'}).default_cluster == "only"


def test_amp_url_implies_sigv4_region() -> None:
    s = Settings.from_env(
        {
            **BASE,
            "DEFAULT_CLUSTER": "p",
            "PROMETHEUS_URL": "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/",
        }
    )
    assert s.prometheus_sigv4_region == "us-west-2"
    assert s.prometheus_url is not None
    assert s.prometheus_url.endswith("ws-1")
    local = Settings.from_env({**BASE, "DEFAULT_CLUSTER": "p", "PROMETHEUS_URL": "http://127.0.0.1:9090"})
    assert local.prometheus_sigv4_region is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "DEFAULT_CLUSTER or CLUSTERS is required"),
        ({"DEFAULT_CLUSTER": "x", "CLUSTERS": '{"a": {}}'}, "DEFAULT_CLUSTER='x' is not a key of CLUSTERS"),
        ({"CLUSTERS": '{"a": {"name": "x"}}'}, "unknown keys"),
        ({"CLUSTERS": '{"a": {"region": 5}}'}, "must be a string"),
        ({"CLUSTERS": "[1]"}, "must be a JSON object"),
        ({"DEFAULT_CLUSTER": "a", "PROMETHEUS_URL": "localhost:9090"}, "must start with http"),
        ({"DEFAULT_CLUSTER": "a", "DROP_RATE_QUERY": "up"}, "{counter}"),
        ({"DEFAULT_CLUSTER": "a", "IDEMPOTENCY_TTL_SECONDS": "5"}, "below the minimum"),
    ],
)
def test_errors_name_the_variable(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("(", r"\(")):
        Settings.from_env({**BASE, **extra})


def test_required_topic() -> None:
    with pytest.raises(ConfigError, match="ENRICHED_TOPIC_ARN is required"):
        Settings.from_env({"STATE_TABLE": "t", "DEFAULT_CLUSTER": "a"})
