"""observe_cluster_dns over an in-memory Kubernetes API: owners, NodeLocal, kube-proxy, domain."""

from __future__ import annotations

import json

import pytest

from netguard.clients.kubernetes import KubeNotFound, KubeUnavailable
from netguard.dns import (
    ClusterDns,
    CoreDnsPod,
    DnsObservationError,
    OwnerKind,
    ReplicaOwner,
    observe_cluster_dns,
    parse_cluster_domain,
    parse_kube_proxy_mode,
)
from tests.support.fakekube import COREFILE, FakeKube, configmap, deployment, pod, standard_cluster

NS = "/apis/apps/v1/namespaces/kube-system"
CORE = "/api/v1/namespaces/kube-system"


class TestObserve:
    def test_standard_cluster(self) -> None:
        """A plain EKS kube-system: deployment owner, iptables, kube-dns IP, cluster.local."""
        dns = observe_cluster_dns(standard_cluster())
        assert dns.coredns_desired == 2
        assert dns.coredns_ready == 2
        assert [p.node_name for p in dns.pods] == ["node-a", "node-b"]
        assert dns.owner == ReplicaOwner(OwnerKind.DEPLOYMENT, "coredns", {"replicas": 2})
        assert dns.nodelocal_enabled is False
        assert dns.kube_proxy_mode == "iptables"
        assert dns.kube_dns_ip == "10.100.0.10"
        assert dns.cluster_domain == "cluster.local"
        assert dns.deployment_name == "coredns"

    def test_request_budget_is_constant(self) -> None:
        """The observation costs a fixed handful of requests, however many pods there are."""
        small = standard_cluster()
        observe_cluster_dns(small)
        big = standard_cluster(coredns_nodes=tuple(f"n{i}" for i in range(300)))
        observe_cluster_dns(big)
        assert small.total_calls() == big.total_calls() <= 9

    def test_both_replicas_on_one_node(self) -> None:
        """Two replicas on one node share one interface: one distinct node."""
        dns = observe_cluster_dns(standard_cluster(coredns_nodes=("node-a", "node-a")))
        assert dns.distinct_nodes() == ("node-a",)
        assert len(dns.pods_on("node-a")) == 2
        assert dns.pods_on("node-b") == ()
        assert dns.pods_on("") == ()

    def test_hpa_owner(self) -> None:
        """An HPA targeting CoreDNS owns its replica count."""
        kube = standard_cluster()
        kube.add(
            "/apis/autoscaling/v2/namespaces/kube-system/horizontalpodautoscalers",
            {
                "metadata": {"name": "coredns-hpa"},
                "spec": {
                    "scaleTargetRef": {"kind": "Deployment", "name": "coredns"},
                    "minReplicas": 2,
                    "maxReplicas": 10,
                },
            },
        )
        owner = observe_cluster_dns(kube).owner
        assert owner.kind is OwnerKind.HPA
        assert owner.name == "coredns-hpa"
        assert dict(owner.detail) == {"min_replicas": 2, "max_replicas": 10}

    def test_hpa_for_another_deployment_is_ignored(self) -> None:
        kube = standard_cluster()
        kube.add(
            "/apis/autoscaling/v2/namespaces/kube-system/horizontalpodautoscalers",
            {
                "metadata": {"name": "other"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "metrics"}, "maxReplicas": 3},
            },
        )
        assert observe_cluster_dns(kube).owner.kind is OwnerKind.DEPLOYMENT

    def test_hpa_v1_fallback(self) -> None:
        """An API server without autoscaling/v2 is asked for v1."""
        kube = standard_cluster()
        kube.fail("/apis/autoscaling/v2", KubeNotFound(404, "NotFound", "", verb="GET", path="x"))
        kube.add(
            "/apis/autoscaling/v1/namespaces/kube-system/horizontalpodautoscalers",
            {
                "metadata": {"name": "h"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "coredns"}, "maxReplicas": 4},
            },
        )
        owner = observe_cluster_dns(kube).owner
        assert owner.kind is OwnerKind.HPA
        assert owner.detail["min_replicas"] == 1

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (
                {"linear": json.dumps({"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2, "max": 20})},
                {"linear": {"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2, "max": 20}},
            ),
            (
                {"ladder": json.dumps({"nodesToReplicas": [[1, 1], [2, 2]]})},
                {"ladder": {"nodesToReplicas": [[1, 1], [2, 2]]}},
            ),
            ({"linear": "not json"}, {}),
        ],
    )
    def test_cluster_proportional_autoscaler(self, data: dict[str, str], expected: dict[str, object]) -> None:
        """A CPA whose --target names the CoreDNS Deployment owns the count; its params are parsed."""
        kube = standard_cluster()
        kube.add(
            f"{NS}/deployments",
            deployment(
                "dns-autoscaler",
                args=[
                    "--namespace=kube-system",
                    "--configmap=dns-autoscaler",
                    "--target=Deployment/coredns",
                    "--logtostderr",
                ],
            ),
        )
        kube.add(f"{CORE}/configmaps", configmap("dns-autoscaler", data))
        owner = observe_cluster_dns(kube).owner
        assert owner.kind is OwnerKind.CLUSTER_PROPORTIONAL_AUTOSCALER
        assert owner.name == "dns-autoscaler"
        assert dict(owner.detail) == {"configmap": "dns-autoscaler", "namespace": "kube-system", **expected}

    def test_cpa_default_params_when_configmap_missing(self) -> None:
        kube = standard_cluster()
        kube.add(
            f"{NS}/deployments",
            deployment(
                "cpa",
                args=[
                    "--configmap=absent",
                    "--target=deployment/coredns",
                    '--default-params={"linear":{"min":3}}',
                ],
            ),
        )
        owner = observe_cluster_dns(kube).owner
        assert owner.kind is OwnerKind.CLUSTER_PROPORTIONAL_AUTOSCALER
        assert owner.detail["linear"] == {"min": 3}

    def test_cpa_for_another_target_is_ignored(self) -> None:
        kube = standard_cluster()
        kube.add(f"{NS}/deployments", deployment("cpa", args=["--target=deployment/coredns-other"]))
        assert observe_cluster_dns(kube).owner.kind is OwnerKind.DEPLOYMENT

    def test_nodelocal_enabled(self) -> None:
        kube = standard_cluster()
        kube.add(f"{NS}/daemonsets", {"metadata": {"name": "node-local-dns"}})
        assert observe_cluster_dns(kube).nodelocal_enabled is True

    @pytest.mark.parametrize(
        ("maps", "expected"),
        [
            ({"kube-proxy": {"config": "mode: ipvs\n"}}, "ipvs"),
            ({"kube-proxy": {"config": "kind: KubeProxyConfiguration\nmode: ''\n"}}, "iptables"),
            ({"kube-proxy": {"config.conf": "kind: KubeProxyConfiguration\nmode: IPVS\n"}}, "ipvs"),
            (
                {
                    "kube-proxy": {"kubeconfig": "apiVersion: v1\nkind: Config\n"},
                    "kube-proxy-config": {"config": 'kind: KubeProxyConfiguration\nmode: "iptables"\n'},
                },
                "iptables",
            ),
            ({"kube-proxy-config": {"config": "kind: KubeProxyConfiguration\nmode: nftables\n"}}, "nftables"),
            ({}, ""),
        ],
    )
    def test_kube_proxy_mode(self, maps: dict[str, dict[str, str]], expected: str) -> None:
        """Mode from ConfigMap kube-proxy, else kube-proxy-config; empty mode means iptables."""
        kube = standard_cluster()
        kube.collections[f"{CORE}/configmaps"] = [configmap("coredns", {"Corefile": COREFILE})] + [
            configmap(name, data) for name, data in maps.items()
        ]
        assert observe_cluster_dns(kube).kube_proxy_mode == expected

    def test_missing_kube_dns_service_and_corefile(self) -> None:
        kube = standard_cluster()
        kube.collections[f"{CORE}/services"] = []
        kube.collections[f"{CORE}/configmaps"] = []
        dns = observe_cluster_dns(kube)
        assert dns.kube_dns_ip == ""
        assert dns.cluster_domain == "cluster.local"
        assert dns.kube_proxy_mode == ""

    def test_unready_and_pending_pods(self) -> None:
        kube = standard_cluster(coredns_nodes=())
        kube.add(
            f"{CORE}/pods", pod("coredns-x", "", labels={"k8s-app": "kube-dns"}, ready=False, phase="Pending")
        )
        dns = observe_cluster_dns(kube)
        assert dns.pods == (CoreDnsPod("coredns-x", "", ready=False, phase="Pending"),)
        assert dns.distinct_nodes() == ()

    def test_no_coredns(self) -> None:
        with pytest.raises(DnsObservationError, match="no CoreDNS Deployment"):
            observe_cluster_dns(FakeKube())

    def test_api_failure_propagates(self) -> None:
        kube = standard_cluster()
        kube.fail("/api/v1", KubeUnavailable(503, "ServiceUnavailable", "", verb="GET", path="x"))
        with pytest.raises(KubeUnavailable):
            observe_cluster_dns(kube)

    def test_other_namespace(self) -> None:
        kube = FakeKube()
        kube.add(
            "/apis/apps/v1/namespaces/dns/deployments", deployment("coredns", labels={"k8s-app": "kube-dns"})
        )
        dns = observe_cluster_dns(kube, namespace="dns")
        assert dns.namespace == "dns"
        assert dns.coredns_desired == 2


class TestParsers:
    @pytest.mark.parametrize(
        ("corefile", "expected"),
        [
            (COREFILE, "cluster.local"),
            ("  kubernetes k8s.example.com. in-addr.arpa {\n", "k8s.example.com"),
            ("# kubernetes commented.out\n", "cluster.local"),
            ("", "cluster.local"),
        ],
    )
    def test_cluster_domain(self, corefile: str, expected: str) -> None:
        assert parse_cluster_domain(corefile) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("mode: ipvs", "ipvs"),
            ("mode:", "iptables"),
            ("kind: KubeProxyConfiguration", "iptables"),
            ("apiVersion: v1\nkind: Config", None),
            ("[unclosed", None),
            ("just text", None),
        ],
    )
    def test_kube_proxy_mode(self, text: str, expected: str | None) -> None:
        assert parse_kube_proxy_mode(text) == expected


class TestModel:
    def test_cluster_dns_queries(self) -> None:
        dns = ClusterDns(
            3,
            3,
            (
                CoreDnsPod("a", "n1", True, "Running"),
                CoreDnsPod("b", "n2", True, "Running"),
                CoreDnsPod("c", "n1", True, "Running"),
            ),
            ReplicaOwner(OwnerKind.DEPLOYMENT, "coredns"),
            False,
            "iptables",
            "10.0.0.10",
            "cluster.local",
        )
        assert dns.distinct_nodes() == ("n1", "n2")
        assert [p.name for p in dns.pods_on("n1")] == ["a", "c"]
