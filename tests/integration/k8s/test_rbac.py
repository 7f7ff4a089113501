"""deploy/rbac/ gives each Lambda identity exactly what it needs on a real API server, and no more."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netguard.clients.kubernetes import KubeForbidden
from netguard_cli.localstack import manifests
from tests.support.k8s import COREDNS, K8sCluster, PathKube

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

RBAC_DIR = Path(__file__).resolve().parents[3] / "deploy" / "rbac"
KS = "/api/v1/namespaces/kube-system"


@pytest.fixture(scope="module")
def rbac_applied(k8s_cluster: K8sCluster) -> K8sCluster:
    """The cluster with exactly the shipped RBAC files applied (again: `cluster up` applies them too)."""
    documents = manifests.load_directory(RBAC_DIR)
    manifests.apply_all(k8s_cluster.admin, documents, field_manager="netguard-test")
    return k8s_cluster


@pytest.fixture
def rbac_cluster(rbac_applied: K8sCluster) -> Iterator[K8sCluster]:
    """As `rbac_applied`, with kube-system at its baseline before and after a test that writes."""
    rbac_applied.reset_dns()
    yield rbac_applied
    rbac_applied.reset_dns()


def _allowed(
    client: PathKube,
    verb: str,
    resource: str,
    *,
    namespace: str = "kube-system",
    group: str = "",
    name: str = "",
    subresource: str = "",
) -> bool:
    attributes = {
        "verb": verb,
        "resource": resource,
        "group": group,
        "namespace": namespace,
        "name": name,
        "subresource": subresource,
    }
    review = client.create(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {k: v for k, v in attributes.items() if v}},
        },
    )
    return bool(review["status"]["allowed"])


def _call(client: PathKube, verb: str, path: str, body: dict[str, Any] | None) -> object:
    if verb == "get":
        return client.get(path)
    if verb == "list":
        return client.list(path)
    if verb == "create":
        return client.create(path, body or {})
    if verb == "patch":
        return client.patch(path, body or {})
    return client.delete_at(path)


def _rule(rule: dict[str, Any]) -> dict[str, list[str]]:
    keys = ("apiGroups", "resources", "resourceNames", "verbs")
    return {key: sorted(rule.get(key) or []) for key in keys}


def _configmap(name: str, namespace: str = "kube-system") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"k": "v"},
    }


class TestShippedFiles:
    def test_files_bind_groups_not_users(self) -> None:
        """Every binding's subjects are the Lambda groups, so EKS access entries' KubernetesGroups work."""
        documents = manifests.load_directory(RBAC_DIR)
        bindings = [d for d in documents if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]
        assert {b["metadata"]["name"] for b in bindings} == {"netguard-enrich", "netguard-remediate"}
        for binding in bindings:
            assert [(s["kind"], s["name"]) for s in binding["subjects"]] == [
                ("Group", binding["metadata"]["name"].replace("netguard-", "netguard:"))
            ]

    def test_no_rule_grants_secrets_wildcards_or_other_namespaces(self) -> None:
        """No rule names secrets or '*', and every namespaced object lives in kube-system."""
        for document in manifests.load_directory(RBAC_DIR):
            if document["kind"] in ("Role", "RoleBinding"):
                assert document["metadata"]["namespace"] == "kube-system"
            for rule in document.get("rules", []):
                assert "secrets" not in rule["resources"]
                assert "*" not in rule["resources"] + rule["verbs"] + rule["apiGroups"]

    def test_cluster_holds_what_the_files_say(self, rbac_applied: K8sCluster) -> None:
        """The rules in the API server are the rules in the files."""
        for document in manifests.load_directory(RBAC_DIR):
            stored = rbac_applied.admin.get(manifests.object_path(document))
            if "rules" in document:
                assert [_rule(r) for r in stored["rules"]] == [_rule(r) for r in document["rules"]]
            if "subjects" in document:
                assert stored["subjects"] == document["subjects"]


class TestRemediateIdentity:
    def test_can_patch_the_coredns_scale_subresource(self, rbac_cluster: K8sCluster) -> None:
        """A real patch of deployments/coredns/scale succeeds and changes spec.replicas."""
        remediate = rbac_cluster.client("remediate")
        result = remediate.patch(f"{COREDNS}/scale", {"spec": {"replicas": 3}})
        assert result["spec"]["replicas"] == 3
        assert rbac_cluster.admin.get(COREDNS)["spec"]["replicas"] == 3

    @pytest.mark.parametrize(
        ("verb", "path", "body"),
        [
            ("get", f"{KS}/secrets/anything", None),
            ("list", f"{KS}/secrets", None),
            ("get", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt", None),
            ("list", "/apis/apps/v1/namespaces/default/deployments", None),
            ("create", "/api/v1/namespaces/default/configmaps", _configmap("x", "default")),
            ("patch", COREDNS, {"spec": {"replicas": 5}}),
            ("patch", f"{KS}/configmaps/coredns", {"data": {"Corefile": "."}}),
            ("delete", f"{KS}/services/kube-dns", None),
        ],
    )
    def test_is_denied_outside_its_grant(
        self, rbac_cluster: K8sCluster, verb: str, path: str, body: dict[str, Any] | None
    ) -> None:
        """Secrets, other namespaces and direct writes to coredns objects answer 403."""
        remediate = rbac_cluster.client("remediate")
        with pytest.raises(KubeForbidden) as denied:
            _call(remediate, verb, path, body)
        assert denied.value.status == 403

    def test_nodelocal_dns_objects_are_its_own_and_only_those(self, rbac_cluster: K8sCluster) -> None:
        """It creates, patches, deletes node-local-dns objects; others it may create it cannot touch."""
        remediate = rbac_cluster.client("remediate")
        remediate.create(f"{KS}/configmaps", _configmap("node-local-dns"))
        remediate.patch(f"{KS}/configmaps/node-local-dns", {"data": {"k": "w"}})
        remediate.delete_at(f"{KS}/configmaps/node-local-dns")
        remediate.create(f"{KS}/configmaps", _configmap("not-nodelocal"))
        with pytest.raises(KubeForbidden):
            remediate.delete_at(f"{KS}/configmaps/not-nodelocal")
        with pytest.raises(KubeForbidden):
            remediate.patch(f"{KS}/configmaps/not-nodelocal", {"data": {"k": "w"}})

    @pytest.mark.parametrize(
        ("attributes", "allowed"),
        [
            (("patch", "deployments", "apps", "coredns", "scale"), True),
            (("update", "deployments", "apps", "coredns", "scale"), True),
            (("patch", "deployments", "apps", "other", "scale"), False),
            (("patch", "horizontalpodautoscalers", "autoscaling", "coredns", ""), True),
            (("patch", "horizontalpodautoscalers", "autoscaling", "other", ""), False),
            (("patch", "configmaps", "", "coredns-autoscaler", ""), True),
            (("patch", "configmaps", "", "dns-autoscaler", ""), True),
            (("patch", "configmaps", "", "kube-proxy", ""), False),
            (("get", "configmaps", "", "kube-proxy", ""), True),
            (("get", "configmaps", "", "aws-auth", ""), False),
            (("create", "daemonsets", "apps", "", ""), True),
            (("delete", "daemonsets", "apps", "node-local-dns", ""), True),
            (("delete", "daemonsets", "apps", "aws-node", ""), False),
            (("delete", "services", "", "kube-dns-upstream", ""), True),
            (("delete", "services", "", "kube-dns", ""), False),
            (("get", "secrets", "", "", ""), False),
            (("update", "nodes", "", "", ""), False),
            (("delete", "pods", "", "", ""), False),
        ],
    )
    def test_access_review_table(
        self, rbac_applied: K8sCluster, attributes: tuple[str, str, str, str, str], allowed: bool
    ) -> None:
        """The API server's own authorizer agrees with the intended grant, case by case."""
        remediate = rbac_applied.client("remediate")
        verb, resource, group, name, subresource = attributes
        assert _allowed(remediate, verb, resource, group=group, name=name, subresource=subresource) is allowed


class TestEnrichIdentity:
    def test_reads_nodes_and_pods_cluster_wide(self, rbac_cluster: K8sCluster) -> None:
        """Nodes, pods by node (field selector), and the kube-system DNS objects are readable."""
        enrich = rbac_cluster.client("enrich")
        nodes = enrich.list("/api/v1/nodes")
        assert len(nodes) == len(rbac_cluster.nodes)
        pods = enrich.list("/api/v1/pods", field_selector=f"spec.nodeName={nodes[0]['metadata']['name']}")
        assert all(p["spec"]["nodeName"] == nodes[0]["metadata"]["name"] for p in pods)
        assert enrich.get(COREDNS)["spec"]["replicas"] == 2
        assert enrich.list("/apis/apps/v1/namespaces/kube-system/daemonsets") == []
        assert enrich.get(f"{KS}/services/kube-dns")["spec"]["clusterIP"] == "10.100.0.10"
        assert enrich.get(f"{KS}/configmaps/kube-proxy-config")["data"]["config"]
        assert enrich.list("/apis/autoscaling/v2/namespaces/kube-system/horizontalpodautoscalers") == []

    @pytest.mark.parametrize(
        ("verb", "path", "body"),
        [
            ("patch", f"{COREDNS}/scale", {"spec": {"replicas": 3}}),
            ("patch", "/api/v1/nodes/{node}", {"metadata": {"labels": {"x": "y"}}}),
            ("create", f"{KS}/configmaps", _configmap("x")),
            ("delete", f"{KS}/pods/anything", None),
            ("get", f"{KS}/secrets/anything", None),
            ("list", "/api/v1/namespaces/default/services", None),
        ],
    )
    def test_writes_nothing(
        self, rbac_cluster: K8sCluster, verb: str, path: str, body: dict[str, Any] | None
    ) -> None:
        """Every write, Secrets and other namespaces' objects answer 403."""
        enrich = rbac_cluster.client("enrich")
        path = path.format(node=rbac_cluster.nodes[0].name)
        with pytest.raises(KubeForbidden) as denied:
            _call(enrich, verb, path, body)
        assert denied.value.status == 403
        assert rbac_cluster.admin.get(COREDNS)["spec"]["replicas"] == 2

    @pytest.mark.parametrize("verb", ["create", "update", "patch", "delete", "deletecollection"])
    @pytest.mark.parametrize(
        ("resource", "group"),
        [
            ("nodes", ""),
            ("pods", ""),
            ("deployments", "apps"),
            ("configmaps", ""),
            ("daemonsets", "apps"),
            ("horizontalpodautoscalers", "autoscaling"),
            ("services", ""),
        ],
    )
    def test_no_write_verb_anywhere(
        self, rbac_applied: K8sCluster, verb: str, resource: str, group: str
    ) -> None:
        """The authorizer denies every write verb on every resource the role can read."""
        assert _allowed(rbac_applied.client("enrich"), verb, resource, group=group) is False
