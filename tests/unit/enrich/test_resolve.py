"""resolve_target: alert labels to cluster, IP, DNS name, instance id and node."""

from __future__ import annotations

import pytest

from netguard.enrich.models import AlertTarget
from netguard.enrich.resolve import ip_from_ec2_hostname, resolve_target


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (
            {"instance": "10.0.1.5:9100"},
            AlertTarget("default", ip="10.0.1.5", instance_label="10.0.1.5:9100"),
        ),
        ({"instance": "10.0.1.5"}, AlertTarget("default", ip="10.0.1.5", instance_label="10.0.1.5")),
        (
            {"instance": "ip-10-0-1-5.ec2.internal:9100"},
            AlertTarget(
                "default",
                ip="10.0.1.5",
                dns_name="ip-10-0-1-5.ec2.internal",
                node_name="ip-10-0-1-5.ec2.internal",
                instance_label="ip-10-0-1-5.ec2.internal:9100",
            ),
        ),
        (
            {"instance": "i-0123456789abcdef0"},
            AlertTarget("default", instance_id="i-0123456789abcdef0", instance_label="i-0123456789abcdef0"),
        ),
        (
            {"node": "ip-10-0-2-7.us-west-2.compute.internal"},
            AlertTarget(
                "default",
                ip="10.0.2.7",
                dns_name="ip-10-0-2-7.us-west-2.compute.internal",
                node_name="ip-10-0-2-7.us-west-2.compute.internal",
            ),
        ),
        ({"kubernetes_node": "worker-3"}, AlertTarget("default", node_name="worker-3")),
        (
            {"nodename": "worker-4", "instance": "pod-exporter:9417"},
            AlertTarget("default", node_name="worker-4", instance_label="pod-exporter:9417"),
        ),
        (
            {"instance_id": "i-0abcdef1234567890", "instance": "10.0.0.1:9100"},
            AlertTarget(
                "default", ip="10.0.0.1", instance_id="i-0abcdef1234567890", instance_label="10.0.0.1:9100"
            ),
        ),
        ({"instance_id": "not-an-id"}, AlertTarget("default")),
        ({"host_ip": "10.1.1.1"}, AlertTarget("default", ip="10.1.1.1")),
        (
            {"instance": "[fd00::1]:9100"},
            AlertTarget("default", node_name="fd00::1", instance_label="[fd00::1]:9100"),
        ),
        (
            {"cluster": "prod", "instance": "10.0.1.5:9100"},
            AlertTarget("prod", ip="10.0.1.5", instance_label="10.0.1.5:9100"),
        ),
        ({}, AlertTarget("default")),
    ],
)
def test_resolve(labels: dict[str, str], expected: AlertTarget) -> None:
    assert resolve_target(labels, default_cluster="default") == expected


def test_configurable_cluster_label() -> None:
    """The cluster comes from the configured label; the `cluster` label is then ignored."""
    labels = {"eks_cluster": "blue", "cluster": "ignored", "instance": "10.0.0.1:1"}
    assert resolve_target(labels, cluster_label="eks_cluster", default_cluster="d").cluster == "blue"
    assert resolve_target({"cluster": "x"}, cluster_label="eks_cluster", default_cluster="d").cluster == "d"


def test_unaddressed() -> None:
    assert not resolve_target({"alertname": "x"}).addressed
    assert resolve_target({"node": "n"}).addressed


@pytest.mark.parametrize(
    ("name", "ip"),
    [
        ("ip-10-0-1-5.ec2.internal", "10.0.1.5"),
        ("ip-192-168-0-1", "192.168.0.1"),
        ("ip-999-0-0-1.x", ""),
        ("worker-1", ""),
    ],
)
def test_ip_from_hostname(name: str, ip: str) -> None:
    assert ip_from_ec2_hostname(name) == ip


def test_describe() -> None:
    assert (
        AlertTarget("c", ip="10.0.0.1", instance_id="i-1").describe() == "private IP 10.0.0.1, instance i-1"
    )
    assert AlertTarget("c").describe() == "no address"
