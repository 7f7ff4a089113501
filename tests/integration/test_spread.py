"""Spreading CoreDNS against the real control plane, as the remediation identity (issue 9, item 2).

Each test sets the placement it starts from explicitly (nothing depends on where the scheduler
happened to put a pod). The seeded PodDisruptionBudget (maxUnavailable 1) is in place throughout.
The EKS add-on is the local endpoint of tests/support/eks_addons.py, validating against a schema.
Placement helpers: tests/support/placement.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from netguard.config.clusters import ClusterConfig
from netguard.dns import observe_cluster_dns
from netguard.remediate.actuators import (
    AddonSpreadOwner,
    DeploymentScaleActuator,
    DeploymentSpreadOwner,
    SpreadActuator,
    hostname_constraint,
)
from netguard.remediate.cluster import connect_cluster
from netguard_cli.localstack import cluster, seed
from netguard_cli.localstack.processes import wait_until
from tests.support.eks_addons import COREDNS_SCHEMA, EksAddonEndpoint
from tests.support.k8s import K8sCluster, PathKube
from tests.support.placement import PDBS, create_coredns_hpa, place_all_on, placement

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

KS = "kube-system"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{KS}/deployments/coredns"
PODS = f"/api/v1/namespaces/{KS}/pods"
SELECTOR = "k8s-app=kube-dns"
LABELS = {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"}
NO_SPREAD_SCHEMA: dict[str, Any] = {
    **COREDNS_SCHEMA,
    "properties": {
        k: v
        for k, v in COREDNS_SCHEMA["properties"].items()
        if k not in ("affinity", "topologySpreadConstraints")
    },
}
"""An add-on version whose configuration offers neither topologySpreadConstraints nor affinity."""


@pytest.fixture
def k8s(k8s_cluster: K8sCluster) -> Iterator[K8sCluster]:
    k8s_cluster.reset_dns()
    yield k8s_cluster
    k8s_cluster.reset_dns()


@pytest.fixture
def remediate(k8s: K8sCluster) -> PathKube:
    return k8s.client("remediate")


def pod_spec(admin: PathKube) -> dict[str, Any]:
    return dict(admin.get(DEPLOYMENT)["spec"]["template"]["spec"])


def deployment_spreader(remediate: PathKube) -> SpreadActuator:
    owner = DeploymentSpreadOwner(remediate, namespace=KS, deployment="coredns")
    return SpreadActuator(remediate, owner, selector=",".join(f"{k}={v}" for k, v in sorted(LABELS.items())))


def addon_spreader(remediate: PathKube, eks_addons: EksAddonEndpoint) -> SpreadActuator:
    owner = AddonSpreadOwner(eks_addons.client(), seed.CLUSTER_NAME, match_labels=LABELS)
    return SpreadActuator(remediate, owner, selector=SELECTOR)


class TestDeployment:
    def test_colocated_pair_is_spread_durably_and_reverted(
        self, k8s: K8sCluster, remediate: PathKube
    ) -> None:
        """Both replicas on one node: raise to 4, the hard constraint rolls them out one per node;
        revert puts the pod template back."""
        hot = k8s.nodes[0].name
        place_all_on(k8s, hot, 2)
        before_calls = dict(remediate.calls)
        DeploymentScaleActuator(remediate).raise_floor(4, dry_run=False)
        spreader = deployment_spreader(remediate)
        result = spreader.spread(1, desired=4, dry_run=False)
        calls = {
            k: v - before_calls.get(k, 0) for k, v in remediate.calls.items() if v != before_calls.get(k, 0)
        }
        assert result.applied
        assert result.after["durable"] is True
        assert result.after["evicted"] == []  # the rollout moves them; evictions would race it
        assert result.before["original"] == {"owner": "deployment", "topologySpreadConstraints": None}
        assert pod_spec(k8s.admin)["topologySpreadConstraints"] == [hostname_constraint(LABELS)]
        assert observe_cluster_dns(remediate).spread_durable
        wait_until(
            lambda: (
                cluster.deployment_settled(k8s.admin, KS, "coredns", 4)
                and placement(k8s.admin) != {}
                and max(placement(k8s.admin).values()) == 1
                and sum(placement(k8s.admin).values()) == 4
            ),
            what="4 CoreDNS replicas Ready, one per node",
            timeout=90,
        )
        assert placement(k8s.admin).get(hot, 0) <= 1
        print(f"\nAPI calls for scale+spread (Deployment): {sum(calls.values())} {calls}")

        undone = spreader.restore(result.before["original"], dry_run=False)
        assert undone.applied
        assert "topologySpreadConstraints" not in pod_spec(k8s.admin)

    def test_dry_run_names_the_pods_and_changes_nothing(self, k8s: K8sCluster, remediate: PathKube) -> None:
        hot = k8s.nodes[1].name
        place_all_on(k8s, hot, 2)
        pods = sorted(p["metadata"]["name"] for p in k8s.admin.list(PODS, label_selector=SELECTOR))
        result = deployment_spreader(remediate).spread(1, desired=2, dry_run=True)
        assert not result.applied
        assert result.after["would_evict"] == [f"{KS}/{pods[0]} (on {hot})"]
        assert "would make durable" in result.description
        assert "would evict" in result.description
        assert "topologySpreadConstraints" not in pod_spec(k8s.admin)
        assert sorted(p["metadata"]["name"] for p in k8s.admin.list(PODS, label_selector=SELECTOR)) == pods


class TestEvictions:
    def test_pdb_says_wait_then_evictions_move_the_extras(
        self, k8s: K8sCluster, remediate: PathKube, eks_addons: EksAddonEndpoint
    ) -> None:
        """Three replicas on one node, an add-on schema with no spread settings: netguard only evicts,
        through the Eviction API. While the PDB allows no disruption the answer is 429 and the spread
        stays pending (nothing forced, no pod deleted); once it allows one at a time, retries move the
        extras. (kwok makes a replacement Ready within milliseconds, so one call may get a second
        eviction admitted by the PDB; the budget, not netguard, decides how many.)"""
        eks_addons.add(seed.CLUSTER_NAME, values={"replicaCount": 3}, version="v1.9.3-eksbuild.22")
        eks_addons.schemas["v1.9.3-eksbuild.22"] = NO_SPREAD_SCHEMA
        hot = k8s.nodes[2].name
        place_all_on(k8s, hot, 3)
        spreader = addon_spreader(remediate, eks_addons)
        before = sorted(p["metadata"]["name"] for p in k8s.admin.list(PODS, label_selector=SELECTOR))

        set_pdb_max_unavailable(k8s.admin, 0)
        first = spreader.spread(1, desired=3, dry_run=False)
        assert first.after["durable"] is False
        assert "offers neither topologySpreadConstraints nor affinity" in first.description
        assert first.after["evicted"] == []
        assert "PodDisruptionBudget does not allow" in first.after["pending"]
        assert eks_addons.updates() == []  # nothing sent that the schema would refuse
        after = sorted(p["metadata"]["name"] for p in k8s.admin.list(PODS, label_selector=SELECTOR))
        assert after == before  # never forced

        set_pdb_max_unavailable(k8s.admin, 1)
        evicted: list[str] = []
        for _ in range(4):
            result = spreader.spread(1, desired=3, dry_run=False)
            evicted += result.after["evicted"]
            if placement(k8s.admin).get(hot, 0) <= 1 and not result.after["pending"]:
                break
            wait_until(
                lambda: cluster.deployment_settled(k8s.admin, KS, "coredns", 3),
                what="the evicted replicas replaced and Ready",
                timeout=60,
            )
        assert 1 <= len(evicted) <= 2, evicted
        wait_until(
            lambda: (
                cluster.deployment_settled(k8s.admin, KS, "coredns", 3) and placement(k8s.admin).get(hot) == 1
            ),
            what="one replica left on the hot node",
            timeout=60,
        )


def set_pdb_max_unavailable(admin: PathKube, value: int) -> None:
    """Change the seeded CoreDNS PDB and wait until the disruption controller has applied it."""
    admin.patch(f"{PDBS}/coredns", {"spec": {"maxUnavailable": value}})

    def applied() -> bool:
        pdb = admin.get(f"{PDBS}/coredns")
        status = pdb.get("status") or {}
        return status.get("observedGeneration") == pdb["metadata"]["generation"] and (
            value > 0 or status.get("disruptionsAllowed") == 0
        )

    wait_until(applied, what=f"the CoreDNS PDB at maxUnavailable {value}")


class TestAddonSchema:
    def test_schema_with_topology_spread_constraints_gets_the_constraint(
        self, k8s: K8sCluster, remediate: PathKube, eks_addons: EksAddonEndpoint
    ) -> None:
        """A version whose schema offers topologySpreadConstraints: it goes into the configuration
        values (validated by the endpoint), every other value kept; revert takes it out again."""
        eks_addons.add(seed.CLUSTER_NAME, values={"replicaCount": 2, "tolerations": []})
        spreader = addon_spreader(remediate, eks_addons)
        result = spreader.spread(1, desired=2, dry_run=False)
        assert result.applied
        assert result.after["durable"] is True
        values = eks_addons.values(seed.CLUSTER_NAME)
        assert values["topologySpreadConstraints"] == [hostname_constraint(LABELS)]
        assert (values["replicaCount"], values["tolerations"]) == (2, [])
        assert eks_addons.updates()[0].body["resolveConflicts"] == "PRESERVE"
        restored = spreader.restore(result.before["original"], dry_run=False)
        assert restored.applied
        assert eks_addons.values(seed.CLUSTER_NAME) == {"replicaCount": 2, "tolerations": []}

    def test_schema_with_affinity_only_gets_required_anti_affinity(
        self, k8s: K8sCluster, remediate: PathKube, eks_addons: EksAddonEndpoint
    ) -> None:
        schema = {**COREDNS_SCHEMA, "properties": dict(COREDNS_SCHEMA["properties"])}
        del schema["properties"]["topologySpreadConstraints"]
        eks_addons.add(seed.CLUSTER_NAME, values={"replicaCount": 2}, version="v1.10.1-eksbuild.1")
        eks_addons.schemas["v1.10.1-eksbuild.1"] = schema
        result = addon_spreader(remediate, eks_addons).spread(1, desired=2, dry_run=False)
        assert result.after["durable"] is True
        anti = eks_addons.values(seed.CLUSTER_NAME)["affinity"]["podAntiAffinity"]
        assert (
            anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
            == "kubernetes.io/hostname"
        )


class TestOwners:
    def test_under_an_hpa_the_deployment_owns_the_pod_spec(
        self, k8s: K8sCluster, eks_addons: EksAddonEndpoint
    ) -> None:
        """An HPA owns only the count: the connector raises through the HPA and spreads through the
        Deployment's pod template (checked with a server-side dry run, so nothing changes)."""
        create_coredns_hpa(k8s.admin)
        config = ClusterConfig(
            name="prod",
            eks_name=seed.CLUSTER_NAME,
            region="us-east-1",
            kubeconfig=str(k8s.kubeconfig("remediate")),
        )
        handle = connect_cluster(config, 0.0, eks=eks_addons.client())  # no add-on: DescribeAddon says 404
        assert handle.state.replica_owner == "hpa"
        assert handle.spread is not None
        assert handle.spread.read() == {"owner": "deployment", "topologySpreadConstraints": None}
        result = handle.spread.spread(1, desired=2, dry_run=True)
        assert result.after["durable"] is True
        assert "topologySpreadConstraints" not in pod_spec(k8s.admin)
