"""Actuators against the real control plane, acting as the remediation identity (deploy/rbac/).

The admin identity only sets the scene (an HPA, an autoscaler, kube-proxy's mode) and checks the
outcome; every change under test is made by the `remediate` user. The EKS add-on is the local
REST-JSON endpoint from tests/support/eks_addons.py, whose updates scale the Deployment as EKS would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from netguard.dns import ClusterDns, observe_cluster_dns
from netguard.remediate.actuators import (
    ActuatorError,
    DeploymentScaleActuator,
    EksAddonActuator,
    HpaActuator,
    NodeLocalDnsActuator,
    ProportionalAutoscalerActuator,
    coredns_actuator,
)
from netguard_cli.localstack import cluster, seed
from netguard_cli.localstack.processes import wait_until
from tests.support.eks_addons import EksAddonEndpoint
from tests.support.k8s import K8sCluster, PathKube
from tests.support.placement import create_coredns_hpa

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

KS = "kube-system"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{KS}/deployments/coredns"
HPA = f"/apis/autoscaling/v2/namespaces/{KS}/horizontalpodautoscalers/coredns"
CPA_CM = f"/api/v1/namespaces/{KS}/configmaps/dns-autoscaler"
LINEAR = {
    "coresPerReplica": 256,
    "nodesPerReplica": 16,
    "min": 2,
    "max": 10,
    "preventSinglePointFailure": True,
    "includeUnschedulableNodes": True,
}
# What the cluster has in kube-system, compared before and after NodeLocal DNSCache comes and goes.
_COLLECTIONS = (
    "/api/v1/namespaces/kube-system/serviceaccounts",
    "/api/v1/namespaces/kube-system/services",
    "/api/v1/namespaces/kube-system/configmaps",
    "/api/v1/namespaces/kube-system/pods",
    "/apis/apps/v1/namespaces/kube-system/daemonsets",
    "/apis/apps/v1/namespaces/kube-system/controllerrevisions",
    "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
)


@pytest.fixture
def k8s(k8s_cluster: K8sCluster) -> Iterator[K8sCluster]:
    """The session cluster at its seeded baseline (coredns 2/2 Ready, kube-proxy iptables)."""
    k8s_cluster.reset_dns()
    yield k8s_cluster
    k8s_cluster.reset_dns()


@pytest.fixture
def remediate(k8s: K8sCluster) -> PathKube:
    return k8s.client("remediate")


def observe(k8s: K8sCluster) -> ClusterDns:
    return observe_cluster_dns(k8s.client("remediate"))


def managers(obj: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (f.get("manager", ""), f.get("subresource", "")) for f in obj["metadata"].get("managedFields") or []
    }


def assert_deployment_untouched(remediate: PathKube, before: dict[str, Any], after: dict[str, Any]) -> None:
    """The remediation identity sent no write to the Deployment or its scale, and no netguard
    field-manager entry on it is new (an earlier test's entry may remain, or move to the autoscaler)."""
    assert not [
        k for k in remediate.calls if k.split()[0] != "GET" and k.split()[1].startswith("deployments")
    ]
    old = [f for f in before["metadata"].get("managedFields") or [] if f.get("manager") == "netguard"]
    new = [f for f in after["metadata"].get("managedFields") or [] if f.get("manager") == "netguard"]
    assert all(entry in old for entry in new), new


def coredns_nodes(admin: PathKube) -> list[str]:
    pods = cluster.ready_pods(admin, KS, "k8s-app=kube-dns")
    return [p["spec"]["nodeName"] for p in pods]


def autoscaler_deployment() -> dict[str, Any]:
    """cluster-proportional-autoscaler as the EKS docs deploy it for CoreDNS."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "dns-autoscaler", "namespace": KS, "labels": {"k8s-app": "dns-autoscaler"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"k8s-app": "dns-autoscaler"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "dns-autoscaler"}},
                "spec": {
                    "containers": [
                        {
                            "name": "autoscaler",
                            "image": "registry.k8s.io/cpa/cluster-proportional-autoscaler:v1.9.0",
                            "command": [
                                "/cluster-proportional-autoscaler",
                                "--namespace=kube-system",
                                "--configmap=dns-autoscaler",
                                "--target=Deployment/coredns",
                                '--default-params={"linear":{"coresPerReplica":256,"nodesPerReplica":16,"min":2}}',
                                "--logtostderr=true",
                                "--v=2",
                            ],
                        }
                    ]
                },
            },
        },
    }


class TestDeployment:
    """No autoscaler: the remediation identity scales coredns through the scale subresource."""

    def test_raise_two_to_four_on_distinct_nodes(self, k8s: K8sCluster, remediate: PathKube) -> None:
        """2 -> 4 replicas, all Ready, on four different nodes; only the scale subresource was written."""
        k8s.place_coredns(k8s.nodes[0].name, k8s.nodes[1].name)  # the spread starts from two nodes
        actuator = coredns_actuator(remediate, observe(k8s))
        assert isinstance(actuator, DeploymentScaleActuator)
        assert actuator.read().floor == 2
        result = actuator.raise_floor(4, dry_run=False)
        assert (result.applied, result.before["replicas"], result.after["replicas"]) == (True, 2, 4)
        wait_until(lambda: cluster.deployment_settled(k8s.admin, KS, "coredns", 4), what="coredns 4/4 Ready")
        nodes = coredns_nodes(k8s.admin)
        assert len(nodes) == 4
        assert len(set(nodes)) == 4, nodes
        assert ("netguard", "scale") in managers(k8s.admin.get(DEPLOYMENT))

    def test_dry_run_changes_nothing(self, k8s: K8sCluster, remediate: PathKube) -> None:
        """A dry run is validated by the API server and changes no field, version or pod."""
        before = k8s.admin.get(DEPLOYMENT)
        result = coredns_actuator(remediate, observe(k8s)).raise_floor(4, dry_run=True)
        assert (result.applied, result.dry_run, result.after["replicas"]) == (False, True, 4)
        time.sleep(1)
        after = k8s.admin.get(DEPLOYMENT)
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert after["spec"]["replicas"] == 2
        assert len(coredns_nodes(k8s.admin)) == 2

    def test_restore(self, k8s: K8sCluster, remediate: PathKube) -> None:
        """restore(before) brings coredns back to 2 replicas."""
        actuator = coredns_actuator(remediate, observe(k8s))
        raised = actuator.raise_floor(3, dry_run=False)
        wait_until(lambda: cluster.deployment_settled(k8s.admin, KS, "coredns", 3), what="coredns 3/3")
        assert actuator.restore(raised.before, dry_run=False).applied
        wait_until(
            lambda: cluster.deployment_settled(k8s.admin, KS, "coredns", 2), what="coredns back to 2/2"
        )


class TestAutoscalers:
    """Under an autoscaler, its floor is raised and the Deployment's spec.replicas is left to it."""

    def test_proportional_autoscaler_min_raised(self, k8s: K8sCluster, remediate: PathKube) -> None:
        """`min` 2 -> 4 in the ConfigMap, other parameters kept; coredns untouched by netguard."""
        k8s.admin.create(f"/apis/apps/v1/namespaces/{KS}/deployments", autoscaler_deployment())
        k8s.admin.create(
            f"/api/v1/namespaces/{KS}/configmaps",
            {"metadata": {"name": "dns-autoscaler", "namespace": KS}, "data": {"linear": json.dumps(LINEAR)}},
        )
        coredns_before = k8s.admin.get(DEPLOYMENT)
        actuator = coredns_actuator(remediate, observe(k8s))
        assert isinstance(actuator, ProportionalAutoscalerActuator)
        dry = actuator.raise_floor(4, dry_run=True)
        assert json.loads(k8s.admin.get(CPA_CM)["data"]["linear"]) == LINEAR
        assert dry.after["floor"] == 4
        result = actuator.raise_floor(4, dry_run=False)
        assert result.applied
        configmap = k8s.admin.get(CPA_CM)
        assert json.loads(configmap["data"]["linear"]) == {**LINEAR, "min": 4}
        assert ("netguard", "") in managers(configmap)
        coredns_after = k8s.admin.get(DEPLOYMENT)
        assert coredns_after["metadata"]["generation"] == coredns_before["metadata"]["generation"]
        assert coredns_after["spec"]["replicas"] == 2
        assert_deployment_untouched(remediate, coredns_before, coredns_after)
        assert not actuator.raise_floor(4, dry_run=False).applied  # idempotent
        actuator.restore(result.before, dry_run=False)
        assert json.loads(k8s.admin.get(CPA_CM)["data"]["linear"]) == LINEAR

    def test_hpa_min_replicas_raised(self, k8s: K8sCluster, remediate: PathKube) -> None:
        """minReplicas 2 -> 4; the HPA controller (not netguard) then scales coredns to 4."""
        create_coredns_hpa(k8s.admin)
        coredns_before = k8s.admin.get(DEPLOYMENT)
        actuator = coredns_actuator(remediate, observe(k8s))
        assert isinstance(actuator, HpaActuator)
        result = actuator.raise_floor(4, dry_run=False)
        assert result.applied
        hpa = k8s.admin.get(HPA)
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (4, 10)
        wait_until(
            lambda: k8s.admin.get(DEPLOYMENT)["spec"]["replicas"] == 4,
            what="the HPA controller raising coredns to minReplicas",
            timeout=90,
        )
        assert_deployment_untouched(remediate, coredns_before, k8s.admin.get(DEPLOYMENT))


class TestEksAddon:
    """The managed add-on's configuration values change; the Deployment is the add-on's to scale."""

    def test_replica_count_updated_others_preserved(
        self, k8s: K8sCluster, remediate: PathKube, eks_addons: EksAddonEndpoint
    ) -> None:
        """replicaCount 2 -> 4 through UpdateAddon; resources and tolerations unchanged."""
        others = {
            "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
        }
        eks_addons.add(seed.CLUSTER_NAME, values={"replicaCount": 2, **others})

        def apply_like_eks(_: Any, values: dict[str, Any]) -> None:
            k8s.admin.patch(
                f"{DEPLOYMENT}/scale", {"spec": {"replicas": values["replicaCount"]}}, field_manager="eks"
            )

        eks_addons.on_update = apply_like_eks
        coredns_before = k8s.admin.get(DEPLOYMENT)
        actuator = coredns_actuator(
            remediate, observe(k8s), eks=eks_addons.client(), cluster_name=seed.CLUSTER_NAME
        )
        assert isinstance(actuator, EksAddonActuator)
        assert actuator.read().replicas == 2
        assert not actuator.raise_floor(4, dry_run=True).applied
        assert eks_addons.updates() == []
        result = actuator.raise_floor(4, dry_run=False)
        assert result.applied
        assert eks_addons.values(seed.CLUSTER_NAME) == {"replicaCount": 4, **others}
        assert eks_addons.updates()[0].body["resolveConflicts"] == "PRESERVE"
        wait_until(lambda: cluster.deployment_settled(k8s.admin, KS, "coredns", 4), what="coredns 4/4")
        assert_deployment_untouched(remediate, coredns_before, k8s.admin.get(DEPLOYMENT))


class TestNodeLocalDns:
    """NodeLocal DNSCache comes and goes without a trace; IPVS mode is refused."""

    @staticmethod
    def inventory(admin: PathKube) -> dict[str, set[str]]:
        return {path: {o["metadata"]["name"] for o in admin.list(path)} for path in _COLLECTIONS}

    def test_enable_then_disable_leaves_cluster_as_it_was(self, k8s: K8sCluster, remediate: PathKube) -> None:
        """Five objects applied by field manager netguard, a cache pod per node, then nothing left."""
        before = self.inventory(k8s.admin)
        kube_dns = k8s.admin.get(f"/api/v1/namespaces/{KS}/services/kube-dns")
        actuator = NodeLocalDnsActuator(remediate)
        dns = observe(k8s)
        assert dns.kube_proxy_mode == "iptables"

        dry = actuator.enable(dns, dry_run=True)
        assert not dry.applied
        assert self.inventory(k8s.admin) == before

        result = actuator.enable(dns, dry_run=False)
        assert result.applied
        assert actuator.is_enabled()
        assert len(result.after["objects"]) == 5
        daemonset_path = f"/apis/apps/v1/namespaces/{KS}/daemonsets/node-local-dns"
        for name in ("node-local-dns", "kube-dns-upstream"):
            service_names = self.inventory(k8s.admin)[_COLLECTIONS[1]]
            assert name in service_names
        daemonset = k8s.admin.get(daemonset_path)
        assert daemonset["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "netguard"
        assert ("netguard", "") in managers(daemonset)
        args = daemonset["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[1] == f"169.254.20.10,{seed.DNS_SERVICE_IP}"
        wait_until(
            lambda: k8s.admin.get(daemonset_path).get("status", {}).get("numberReady") == len(k8s.nodes),
            what="a node-local-dns pod Ready on every node",
        )
        assert not actuator.enable(dns, dry_run=False).applied  # a second enable changes nothing

        dry_off = actuator.disable(dry_run=True)
        assert not dry_off.applied
        assert actuator.is_enabled()
        removed = actuator.disable(dry_run=False)
        assert removed.applied
        assert sorted(removed.before["objects"]) == sorted(result.after["objects"])
        wait_until(lambda: self.inventory(k8s.admin) == before, what="kube-system back as it was", timeout=90)
        assert not actuator.is_enabled()
        after_dns = k8s.admin.get(f"/api/v1/namespaces/{KS}/services/kube-dns")
        assert after_dns["metadata"]["resourceVersion"] == kube_dns["metadata"]["resourceVersion"]

    def test_ipvs_refused_with_reason(self, k8s: K8sCluster, remediate: PathKube) -> None:
        """With kube-proxy in IPVS mode nothing is applied and the reason names kubelet's --cluster-dns."""
        seed.set_kube_proxy_mode(k8s.admin, "ipvs")
        before = self.inventory(k8s.admin)
        dns = observe(k8s)
        assert dns.kube_proxy_mode == "ipvs"
        with pytest.raises(ActuatorError, match=r"IPVS mode.*--cluster-dns"):
            NodeLocalDnsActuator(remediate).enable(dns, dry_run=False)
        assert self.inventory(k8s.admin) == before
