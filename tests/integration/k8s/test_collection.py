"""deploy/collection/ server-side applied to the real control plane: the node_exporter DaemonSet's pods
land on every node, tainted ones included, Ready and on the host network; the ADOT collector's RBAC
lets its service account watch pods and nothing more; everything goes away again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netguard.clients.kubernetes import KubeNotFound
from netguard_cli.localstack import processes
from netguard_cli.localstack.manifests import apply_all, delete_all, load_documents
from tests.support.k8s import K8sCluster

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

COLLECTION = Path(__file__).resolve().parents[3] / "deploy" / "collection"
NAMESPACE = "netguard-collection"
MANAGER = "netguard-collection-test"
TAINTS = [
    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
]


def _pods(cluster: K8sCluster) -> list[dict[str, Any]]:
    return cluster.admin.list(
        f"/api/v1/namespaces/{NAMESPACE}/pods",
        label_selector="app.kubernetes.io/name=prometheus-node-exporter",
    )


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _namespace_gone(cluster: K8sCluster) -> bool:
    try:
        cluster.admin.get(f"/api/v1/namespaces/{NAMESPACE}")
    except KubeNotFound:
        return True
    return False


@pytest.fixture(scope="module")
def applied(k8s_cluster: K8sCluster) -> Iterator[tuple[K8sCluster, list[dict[str, Any]]]]:
    """The manifests applied with one node tainted twice (NoSchedule and NoExecute); removed after."""
    k8s_cluster.reset_dns()
    tainted = k8s_cluster.nodes[0].name
    k8s_cluster.admin.patch(f"/api/v1/nodes/{tainted}", {"spec": {"taints": TAINTS}})
    manifests = load_documents(COLLECTION / "node-exporter.yaml") + load_documents(
        COLLECTION / "collector-rbac.yaml"
    )
    try:
        apply_all(k8s_cluster.admin, manifests, field_manager=MANAGER)
        yield k8s_cluster, manifests
    finally:
        delete_all(k8s_cluster.admin, manifests)
        processes.wait_until(
            lambda: _namespace_gone(k8s_cluster), what=f"namespace {NAMESPACE} gone", timeout=120
        )
        k8s_cluster.reset_dns()  # untaints the node


def test_node_exporter_pods_land_on_every_node(applied: tuple[K8sCluster, list[dict[str, Any]]]) -> None:
    """One Ready pod per node, the tainted one included, on the host network at port 9100."""
    cluster, _ = applied
    names = {n.name for n in cluster.nodes}

    def placed() -> bool:
        pods = _pods(cluster)
        return sorted(p["spec"].get("nodeName", "") for p in pods) == sorted(names) and all(map(_ready, pods))

    processes.wait_until(placed, what=f"a Ready node-exporter pod on each of {len(names)} nodes", timeout=120)
    for pod in _pods(cluster):
        assert pod["spec"]["hostNetwork"] is True
        (container,) = pod["spec"]["containers"]
        assert container["ports"][0]["hostPort"] == 9100
        assert container["resources"]["limits"]
    daemonset = cluster.admin.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/daemonsets/node-exporter")
    assert daemonset["status"]["desiredNumberScheduled"] == len(names)


def test_apply_again_changes_nothing(applied: tuple[K8sCluster, list[dict[str, Any]]]) -> None:
    """Server-side apply is idempotent: a second apply leaves the DaemonSet's generation as it was."""
    cluster, manifests = applied
    path = f"/apis/apps/v1/namespaces/{NAMESPACE}/daemonsets/node-exporter"
    before = cluster.admin.get(path)["metadata"]["generation"]
    apply_all(cluster.admin, manifests, field_manager=MANAGER)
    assert cluster.admin.get(path)["metadata"]["generation"] == before


def _allowed(cluster: K8sCluster, user: str, verb: str, resource: str) -> bool:
    """What the API server's authorizer answers for `user` (a SubjectAccessReview)."""
    review = cluster.admin.request(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "resourceAttributes": {"verb": verb, "resource": resource}},
        },
    )
    return bool(review["status"].get("allowed"))


def test_adot_service_account_watches_pods_only(applied: tuple[K8sCluster, list[dict[str, Any]]]) -> None:
    """The collector's identity may list and watch pods cluster-wide (discovery), not read secrets."""
    cluster, _ = applied
    user = f"system:serviceaccount:{NAMESPACE}:netguard-adot-collector"
    assert _allowed(cluster, user, "watch", "pods")
    assert _allowed(cluster, user, "list", "pods")
    assert not _allowed(cluster, user, "list", "secrets")
    assert not _allowed(cluster, user, "delete", "pods")
