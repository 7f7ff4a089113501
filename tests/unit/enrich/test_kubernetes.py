"""KubernetesEnricher over an in-memory API: nodes, DNS-bypassing pods, a constant request count."""

from __future__ import annotations

from typing import Any

import pytest

from netguard.enrich.kubernetes import (
    MAX_BYPASS_PODS_PER_NODE,
    KubernetesEnricher,
    bypasses_cluster_dns,
    instance_id_from_provider,
)
from tests.support.fakekube import node, pod, standard_cluster


def cluster_with_pods(nodes: int) -> KubernetesEnricher:
    kube = standard_cluster()
    kube.add(
        "/api/v1/nodes", *(node(f"n{i}", f"10.0.0.{i}", instance_id=f"i-{i:017x}") for i in range(nodes))
    )
    for i in range(nodes):
        kube.add(
            f"/api/v1/namespaces/app{i}/pods",
            pod(f"hostnet-{i}", f"n{i}", namespace="monitoring", host_network=True),
            pod(f"withhostdns-{i}", f"n{i}", host_network=True, dns_policy="ClusterFirstWithHostNet"),
            pod(f"default-{i}", f"n{i}", namespace="app", dns_policy="Default"),
            pod(f"normal-{i}", f"n{i}", namespace="app"),
        )
    return KubernetesEnricher(kube)


class TestNodes:
    def test_node_records(self) -> None:
        enricher = cluster_with_pods(2)
        records = enricher.nodes()
        assert [r.info.name for r in records] == ["n0", "n1"]
        first = records[0]
        assert first.instance_id == "i-00000000000000000"
        assert first.info.internal_ip == "10.0.0.0"
        assert first.info.instance_type == "m5.large"
        assert first.info.zone == "us-east-1a"
        assert first.info.nodegroup == "ng-1"
        assert first.info.ready is True


class TestBypassPods:
    @pytest.mark.parametrize("alerting", [1, 3, 4, 50])
    def test_finds_bypassing_pods_with_bounded_requests(self, alerting: int) -> None:
        """Per-node lists up to the limit, then one cluster-wide list: never one per alert."""
        enricher = cluster_with_pods(60)
        names = [f"n{i}" for i in range(alerting)]
        before = sum(enricher.calls.values())
        found = enricher.dns_bypass_pods(names * 3)
        requests = sum(enricher.calls.values()) - before
        assert requests == (alerting if alerting <= 3 else 1)
        assert found["n0"] == ("app/default-0", "monitoring/hostnet-0")
        assert set(found) == set(names)

    def test_no_nodes_no_requests(self) -> None:
        enricher = cluster_with_pods(1)
        assert enricher.dns_bypass_pods([]) == {}
        assert sum(enricher.calls.values()) == 0

    def test_capped(self) -> None:
        kube = standard_cluster()
        kube.add(
            "/api/v1/namespaces/x/pods",
            *(pod(f"p{i:03}", "busy", dns_policy="Default") for i in range(MAX_BYPASS_PODS_PER_NODE + 5)),
        )
        found = KubernetesEnricher(kube).dns_bypass_pods(["busy"])["busy"]
        assert len(found) == MAX_BYPASS_PODS_PER_NODE + 1
        assert found[-1] == "... and 5 more"


class TestDnsServers:
    def test_coredns_and_nodelocal_are_the_dns_path_not_bypassers(self) -> None:
        """CoreDNS (dnsPolicy Default) and NodeLocal DNSCache (host network) on the node are reported
        as its DNS servers, never in the bypass list (issue 9)."""
        kube = standard_cluster(coredns_nodes=("hot", "hot"))
        kube.add(
            "/api/v1/namespaces/kube-system/pods",
            pod(
                "node-local-dns-x",
                "hot",
                labels={"k8s-app": "node-local-dns"},
                host_network=True,
                dns_policy="Default",
            ),
            pod("aws-node-x", "hot", labels={"k8s-app": "aws-node"}, host_network=True),
        )
        found = KubernetesEnricher(kube).dns_pods(["hot"])
        assert found.servers == {
            "hot": ("kube-system/coredns-0", "kube-system/coredns-1", "kube-system/node-local-dns-x")
        }
        assert found.bypass == {"hot": ("kube-system/aws-node-x",)}

    def test_a_dns_label_outside_kube_system_is_not_trusted(self) -> None:
        """Only kube-system's pods are the cluster's DNS path; an app labelled like CoreDNS elsewhere
        that resolves through the node is still a bypasser."""
        kube = standard_cluster()
        kube.add(
            "/api/v1/namespaces/app/pods",
            pod("fake", "n", namespace="app", labels={"k8s-app": "kube-dns"}, dns_policy="Default"),
        )
        found = KubernetesEnricher(kube).dns_pods(["n"])
        assert found.bypass == {"n": ("app/fake",)}
        assert found.servers == {"n": ()}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"dns_policy": "Default"}, True),
        ({"dns_policy": "Default", "labels": {"k8s-app": "kube-dns"}}, False),
        ({"host_network": True, "labels": {"k8s-app": "node-local-dns"}}, False),
        ({"host_network": True}, True),
        ({"host_network": True, "dns_policy": "ClusterFirstWithHostNet"}, False),
        ({"host_network": True, "dns_policy": "None"}, False),
        ({}, False),
        ({"dns_policy": "Default", "phase": "Succeeded"}, False),
    ],
)
def test_bypasses_cluster_dns(kwargs: dict[str, Any], expected: bool) -> None:
    assert bypasses_cluster_dns(pod("p", "n", **kwargs)) is expected


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("aws:///us-east-1a/i-0abc1234", "i-0abc1234"),
        ("aws:///us-east-1a/i-0abc1234/", "i-0abc1234"),
        ("kwok://n1", ""),
        ("", ""),
        ("aws:///fargate/x", ""),
    ],
)
def test_instance_id_from_provider(provider: str, expected: str) -> None:
    assert instance_id_from_provider(provider) == expected
