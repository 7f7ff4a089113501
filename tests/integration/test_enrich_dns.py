"""observe_cluster_dns and the KubernetesEnricher against the real local control plane, with the
enrichment Lambda's own read-only identity (deploy/rbac/enrich.yaml)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import pytest

from netguard.clients.kubernetes import KubeNotFound
from netguard.dns import OwnerKind, observe_cluster_dns
from netguard.enrich.kubernetes import KubernetesEnricher
from netguard_cli.localstack import seed
from tests.support.k8s import EksWorld

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

NS = "/apis/apps/v1/namespaces/kube-system"


def test_seeded_cluster(eks_env: EksWorld) -> None:
    """The EKS-like baseline: 2 CoreDNS replicas, plain Deployment owner, iptables, kube-dns IP."""
    kube = eks_env.cluster.client("enrich")
    dns = observe_cluster_dns(kube)
    assert dns.coredns_desired == 2
    assert dns.coredns_ready == 2
    assert len(dns.pods) == 2
    assert all(p.ready and p.phase == "Running" for p in dns.pods)
    node_names = {n.name for n in eks_env.nodes}
    assert set(dns.distinct_nodes()) <= node_names
    assert sum(len(dns.pods_on(n)) for n in dns.distinct_nodes()) == 2
    assert dns.owner.kind is OwnerKind.DEPLOYMENT
    assert dns.nodelocal_enabled is False
    assert dns.kube_proxy_mode == "iptables"
    assert dns.kube_dns_ip == seed.DNS_SERVICE_IP
    assert dns.cluster_domain == "cluster.local"
    assert sum(kube.calls.values()) <= 9


def test_hpa_and_nodelocal(eks_env: EksWorld) -> None:
    """An HPA on CoreDNS and a node-local-dns DaemonSet are seen (created by the admin identity)."""
    admin = eks_env.cluster.admin
    admin.create(
        "/apis/autoscaling/v2/namespaces/kube-system/horizontalpodautoscalers",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "coredns"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "coredns"},
                "minReplicas": 2,
                "maxReplicas": 8,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 80},
                        },
                    }
                ],
            },
        },
    )
    admin.create(
        f"{NS}/daemonsets",
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "node-local-dns"},
            "spec": {
                "selector": {"matchLabels": {"k8s-app": "node-local-dns"}},
                "template": {
                    "metadata": {"labels": {"k8s-app": "node-local-dns"}},
                    "spec": {"nodeSelector": {"none": "none"}, "containers": [{"name": "c", "image": "x"}]},
                },
            },
        },
    )
    dns = observe_cluster_dns(eks_env.cluster.client("enrich"))
    assert dns.owner.kind is OwnerKind.HPA
    assert dict(dns.owner.detail) == {"min_replicas": 2, "max_replicas": 8}
    assert dns.nodelocal_enabled is True


def test_cluster_proportional_autoscaler(eks_env: EksWorld) -> None:
    admin = eks_env.cluster.admin
    admin.create(
        "/api/v1/namespaces/kube-system/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "dns-autoscaler"},
            "data": {
                "linear": json.dumps(
                    {
                        "coresPerReplica": 256,
                        "nodesPerReplica": 16,
                        "min": 3,
                        "preventSinglePointFailure": True,
                    }
                )
            },
        },
    )
    admin.create(
        f"{NS}/deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "dns-autoscaler"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "dns-autoscaler"}},
                "template": {
                    "metadata": {"labels": {"app": "dns-autoscaler"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "autoscaler",
                                "image": "cpa",
                                "command": [
                                    "/cluster-proportional-autoscaler",
                                    "--namespace=kube-system",
                                    "--configmap=dns-autoscaler",
                                    "--target=Deployment/coredns",
                                ],
                            }
                        ]
                    },
                },
            },
        },
    )
    owner = observe_cluster_dns(eks_env.cluster.client("enrich")).owner
    assert owner.kind is OwnerKind.CLUSTER_PROPORTIONAL_AUTOSCALER
    assert owner.name == "dns-autoscaler"
    assert owner.detail["configmap"] == "dns-autoscaler"
    assert owner.detail["linear"]["min"] == 3


def test_kube_proxy_ipvs(eks_env: EksWorld) -> None:
    seed.set_kube_proxy_mode(eks_env.cluster.admin, "ipvs")
    assert observe_cluster_dns(eks_env.cluster.client("enrich")).kube_proxy_mode == "ipvs"


@pytest.fixture
def bypass_pods(eks_env: EksWorld) -> Iterator[str]:
    """Pods bound to the first node by `nodeName` (placement set here, not left to the scheduler):
    four in `default`, and the cluster's DNS servers in kube-system, a CoreDNS pod (dnsPolicy Default,
    as EKS runs it) and a NodeLocal DNSCache pod (host network). All deleted afterwards."""
    admin = eks_env.cluster.admin
    target = eks_env.nodes[0].name
    # CoreDNS (dnsPolicy Default by design) away from the target, so the pods listed there are only
    # the four below, whatever the scheduler would have chosen.
    eks_env.cluster.place_coredns(eks_env.nodes[1].name, eks_env.nodes[2].name)
    names: list[str] = []

    def make(
        name: str, namespace: str = "default", labels: dict[str, str] | None = None, **spec: object
    ) -> None:
        admin.create(
            f"/api/v1/namespaces/{namespace}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "labels": labels or {}},
                "spec": {
                    "nodeName": target,
                    "containers": [{"name": "c", "image": "x"}],
                    "tolerations": [{"operator": "Exists"}],
                    **spec,
                },
            },
        )
        names.append(f"/api/v1/namespaces/{namespace}/pods/{name}")

    try:
        make("enrich-hostnet", hostNetwork=True)
        make("enrich-defaultdns", dnsPolicy="Default")
        make("enrich-hostnet-clusterdns", hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet")
        make("enrich-ordinary")
        # Only the k8s-app label: the coredns ReplicaSet (which also selects on the EKS component
        # label) does not adopt it, so the seeded Deployment stays as it is.
        make("coredns-pinned", "kube-system", {"k8s-app": "kube-dns"}, dnsPolicy="Default")
        make(
            "node-local-dns-pinned",
            "kube-system",
            {"k8s-app": "node-local-dns"},
            hostNetwork=True,
            dnsPolicy="Default",
        )
        yield target
    finally:
        for path in names:
            with contextlib.suppress(KubeNotFound):
                admin.delete_at(path)


EXPECTED = ("default/enrich-defaultdns", "default/enrich-hostnet")
SERVERS = ("kube-system/coredns-pinned", "kube-system/node-local-dns-pinned")


@pytest.mark.parametrize("per_node_limit", [3, 0])
def test_dns_bypass_pods(eks_env: EksWorld, bypass_pods: str, per_node_limit: int) -> None:
    """Host-network and dnsPolicy Default pods are found, per node or with one cluster-wide list; the
    CoreDNS and NodeLocal DNSCache pods on the same node are reported as its DNS servers instead."""
    target = bypass_pods
    enricher = KubernetesEnricher(eks_env.cluster.client("enrich"), per_node_limit=per_node_limit)
    # The cluster-wide list only sees Running pods; kwok marks them Running shortly after creation.
    deadline = time.monotonic() + 60
    found = enricher.dns_pods([target])
    while (found.bypass, found.servers) != (
        {target: EXPECTED},
        {target: SERVERS},
    ) and time.monotonic() < deadline:
        time.sleep(0.5)
        found = enricher.dns_pods([target])
    assert found.bypass == {target: EXPECTED}  # CoreDNS and NodeLocal DNSCache are never bypassers
    assert found.servers == {target: SERVERS}
    records = enricher.nodes()
    by_name = {r.info.name: r for r in records}
    assert set(by_name) == {n.name for n in eks_env.nodes}
    for n in eks_env.nodes:
        assert by_name[n.name].instance_id == n.instance_id
        assert by_name[n.name].info.internal_ip == n.internal_ip
