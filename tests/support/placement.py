"""Explicit CoreDNS set-ups on the local control plane, for tests that start from a given layout:
its placement, and an HPA as the owner of its replica count.

The admin cordons every node but one, so the CoreDNS pods land where the test says, then uncordons:
no test depends on where the scheduler happened to put a pod.
"""

from __future__ import annotations

from netguard_cli.localstack import cluster
from netguard_cli.localstack.processes import wait_until
from tests.support.k8s import KUBE_SYSTEM, K8sCluster, PathKube

COREDNS = f"/apis/apps/v1/namespaces/{KUBE_SYSTEM}/deployments/coredns"
PODS = f"/api/v1/namespaces/{KUBE_SYSTEM}/pods"
SELECTOR = "k8s-app=kube-dns"
HPAS = f"/apis/autoscaling/v2/namespaces/{KUBE_SYSTEM}/horizontalpodautoscalers"
PDBS = f"/apis/policy/v1/namespaces/{KUBE_SYSTEM}/poddisruptionbudgets"


def create_coredns_hpa(admin: PathKube, *, min_replicas: int = 2, max_replicas: int = 10) -> None:
    """An HPA named coredns on the coredns Deployment (the replica count's owner from then on), with
    its CPU target written out (autoscaling/v2's default, 80%), as operators' manifests carry it."""
    admin.create(
        HPAS,
        {
            "metadata": {"name": "coredns", "namespace": KUBE_SYSTEM},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "coredns"},
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
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


def placement(admin: PathKube) -> dict[str, int]:
    """Node -> Ready CoreDNS pods (terminating ones left out)."""
    counts: dict[str, int] = {}
    for pod in cluster.ready_pods(admin, KUBE_SYSTEM, SELECTOR):
        if not pod["metadata"].get("deletionTimestamp"):
            counts[pod["spec"]["nodeName"]] = counts.get(pod["spec"]["nodeName"], 0) + 1
    return counts


def place_all_on(k8s: K8sCluster, node: str, replicas: int) -> None:
    """`replicas` Ready CoreDNS pods, every one on `node`: the colocated case, set up on purpose."""
    admin = k8s.admin
    others = [n.name for n in k8s.nodes if n.name != node]
    for name in others:
        admin.patch(f"/api/v1/nodes/{name}", {"spec": {"unschedulable": True}})
    try:
        admin.patch(f"{COREDNS}/scale", {"spec": {"replicas": replicas}})
        for pod in admin.list(PODS, label_selector=SELECTOR):
            if pod["spec"].get("nodeName") != node:
                admin.delete_at(f"{PODS}/{pod['metadata']['name']}")
        wait_until(
            lambda: (
                placement(admin) == {node: replicas}
                and len(admin.list(PODS, label_selector=SELECTOR)) == replicas
            ),
            what=f"{replicas} CoreDNS pods Ready on {node}",
            timeout=60,
        )
        # The Eviction API decides from the PDB's status, which the disruption controller computes a
        # moment later: until it has seen this placement, it may still count the surge of the set-up
        # and allow more evictions than a cluster at rest would.
        wait_until(
            lambda: pdbs_settled(admin, replicas), what=f"CoreDNS PodDisruptionBudget sees {replicas} pods"
        )
    finally:
        for name in others:
            admin.patch(f"/api/v1/nodes/{name}", {"spec": {"unschedulable": None}})


def pdbs_settled(admin: PathKube, replicas: int) -> bool:
    """Every PodDisruptionBudget in kube-system has observed its spec and counts `replicas` healthy pods."""
    for pdb in admin.list(PDBS):
        status = pdb.get("status") or {}
        if (
            status.get("observedGeneration") != pdb["metadata"].get("generation")
            or status.get("expectedPods") != replicas
            or status.get("currentHealthy") != replicas
        ):
            return False
    return True
