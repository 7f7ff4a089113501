"""Server-side apply and deletion of a DaemonSet with the project's field manager, on a real API server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from netguard.clients.kubernetes import FIELD_MANAGER, KubeConflict, KubeForbidden, KubeNotFound
from netguard_cli.localstack import processes
from tests.support.k8s import K8sCluster

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

DAEMONSETS = "/apis/apps/v1/namespaces/kube-system/daemonsets"
PATH = f"{DAEMONSETS}/node-local-dns"
LABELS = {"k8s-app": "node-local-dns"}


def _daemonset(image_tag: str = "1.25.0", name: str = "node-local-dns") -> dict[str, Any]:
    """A trimmed NodeLocal DNSCache DaemonSet: what matters here is ownership, not the cache itself."""
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system", "labels": dict(LABELS)},
        "spec": {
            "selector": {"matchLabels": dict(LABELS)},
            "updateStrategy": {"rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "hostNetwork": True,
                    "dnsPolicy": "Default",
                    "tolerations": [
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"effect": "NoExecute", "operator": "Exists"},
                        {"effect": "NoSchedule", "operator": "Exists"},
                    ],
                    "containers": [
                        {
                            "name": "node-cache",
                            "image": f"registry.k8s.io/dns/k8s-dns-node-cache:{image_tag}",
                            "args": ["-localip", "169.254.20.10,10.100.0.10", "-conf", "/etc/Corefile"],
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                            "resources": {"requests": {"cpu": "25m", "memory": "5Mi"}},
                        }
                    ],
                },
            },
        },
    }


@pytest.fixture
def baseline(k8s_cluster: K8sCluster) -> Iterator[K8sCluster]:
    k8s_cluster.reset_dns()
    yield k8s_cluster
    k8s_cluster.reset_dns()


def _pods(cluster: K8sCluster) -> list[dict[str, Any]]:
    return cluster.admin.list("/api/v1/namespaces/kube-system/pods", label_selector="k8s-app=node-local-dns")


def test_apply_then_delete_daemonset_as_the_remediation_identity(baseline: K8sCluster) -> None:
    """The remediate identity applies node-local-dns (field manager `netguard`), a pod runs on every
    node, a re-apply changes the image, and deletion removes the DaemonSet and its pods."""
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

    updated = remediate.apply_at(PATH, _daemonset("1.26.0"))
    assert updated["metadata"]["generation"] == created["metadata"]["generation"] + 1
    assert updated["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.26.0")

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
    assert admin.get(PATH)["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.25.0")
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
