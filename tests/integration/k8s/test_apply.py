"""Server-side apply and deletion of a DaemonSet with the project's field manager, on a real API server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from netguard.clients.kubernetes import FIELD_MANAGER, KubeConflict, KubeForbidden, KubeNotFound
from netguard.remediate.actuators.nodelocal import render_manifest
from netguard_cli.localstack import processes
from tests.support.k8s import K8sCluster

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

DAEMONSETS = "/apis/apps/v1/namespaces/kube-system/daemonsets"
PATH = f"{DAEMONSETS}/node-local-dns"
LABELS = {"k8s-app": "node-local-dns"}
# The only node-cache image the admission policy (deploy/rbac/) lets the remediation identity run.
PINNED_TAG = next(
    o["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[1]
    for o in render_manifest("10.100.0.10")
    if o["kind"] == "DaemonSet"
)


def _daemonset(
    image_tag: str = PINNED_TAG, name: str = "node-local-dns", local_ip: str = "169.254.20.10"
) -> dict[str, Any]:
    """NodeLocal DNSCache's DaemonSet as netguard renders it (the admission policy admits nothing else
    from the remediation identity), with another image tag, name or link-local IP when asked."""
    (daemonset,) = [o for o in render_manifest("10.100.0.10", local_ip) if o["kind"] == "DaemonSet"]
    daemonset["metadata"]["name"] = name
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    container["image"] = f"registry.k8s.io/dns/k8s-dns-node-cache:{image_tag}"
    return daemonset


SERVICE_ACCOUNTS = "/api/v1/namespaces/kube-system/serviceaccounts"


@pytest.fixture
def baseline(k8s_cluster: K8sCluster) -> Iterator[K8sCluster]:
    """kube-system at its baseline, plus the ServiceAccount the DaemonSet must run as (policy)."""
    k8s_cluster.reset_dns()
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "node-local-dns"}}
    k8s_cluster.admin.apply_at(f"{SERVICE_ACCOUNTS}/node-local-dns", account, field_manager="netguard-test")
    yield k8s_cluster
    k8s_cluster.reset_dns()  # deletes the ServiceAccount too


def _pods(cluster: K8sCluster) -> list[dict[str, Any]]:
    return cluster.admin.list("/api/v1/namespaces/kube-system/pods", label_selector="k8s-app=node-local-dns")


def test_apply_then_delete_daemonset_as_the_remediation_identity(baseline: K8sCluster) -> None:
    """The remediate identity applies node-local-dns (field manager `netguard`), a pod runs on every
    node, a re-apply changes the pod template (another link-local IP; another image is refused by the
    admission policy), and deletion removes the DaemonSet and its pods."""
    remediate = baseline.client("remediate")
    created = remediate.apply_at(PATH, _daemonset())
    managers = {(m["manager"], m["operation"]) for m in created["metadata"]["managedFields"]}
    assert (FIELD_MANAGER, "Apply") in managers
    node_count = len(baseline.nodes)
    processes.wait_until(
        lambda: remediate.get(PATH).get("status", {}).get("numberReady") == node_count,
        what="node-local-dns ready on every node",
        timeout=60,
    )
    assert {pod["spec"]["nodeName"] for pod in _pods(baseline)} == {node.name for node in baseline.nodes}

    updated = remediate.apply_at(PATH, _daemonset(local_ip="169.254.20.11"))
    assert updated["metadata"]["generation"] == created["metadata"]["generation"] + 1
    assert updated["spec"]["template"]["spec"]["containers"][0]["args"][1] == "169.254.20.11,10.100.0.10"
    with pytest.raises(KubeForbidden):
        remediate.apply_at(PATH, _daemonset("1.26.0"))

    remediate.delete_at(PATH)
    processes.wait_until(lambda: not _pods(baseline), what="node-local-dns pods gone", timeout=60)
    with pytest.raises(KubeNotFound):
        remediate.get(PATH)


def test_a_conflicting_manager_is_refused_unless_it_forces(baseline: K8sCluster) -> None:
    """Another manager setting a field `netguard` owns gets 409; with force it takes the field over."""
    admin = baseline.admin
    admin.apply_at(PATH, _daemonset())
    with pytest.raises(KubeConflict) as conflict:
        admin.apply_at(PATH, _daemonset("9.9.9"), field_manager="someone-else")
    assert conflict.value.status == 409
    assert admin.get(PATH)["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{PINNED_TAG}")
    forced = admin.apply_at(PATH, _daemonset("9.9.9"), field_manager="someone-else", force=True)
    assert forced["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":9.9.9")


def test_dry_run_apply_stores_nothing(baseline: K8sCluster) -> None:
    """A dry-run apply returns the object but the API server keeps nothing."""
    result = baseline.client("remediate").apply_at(PATH, _daemonset(), dry_run=True)
    assert result["metadata"]["name"] == "node-local-dns"
    with pytest.raises(KubeNotFound):
        baseline.admin.get(PATH)


def test_remediate_cannot_apply_a_daemonset_under_another_name(baseline: K8sCluster) -> None:
    """Apply is a patch, and patch is limited by name: any other DaemonSet is refused."""
    with pytest.raises(KubeForbidden):
        baseline.client("remediate").apply_at(f"{DAEMONSETS}/aws-node", _daemonset(name="aws-node"))
