"""deploy/rbac/ gives each Lambda identity exactly what it needs on a real API server, and no more."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard.clients.kubernetes import KubeForbidden, KubeNotFound
from netguard.remediate.actuators.nodelocal import object_path, render_manifest
from netguard.remediate.actuators.spread import hostname_constraint
from netguard_cli.localstack import manifests
from netguard_cli.localstack.processes import wait_until
from netguard_cli.main import main
from tests.support.k8s import COREDNS, K8sCluster, PathKube

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

RBAC_DIR = Path(__file__).resolve().parents[3] / "deploy" / "rbac"
MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "nodelocaldns" / "nodelocaldns.yaml"
KS = "/api/v1/namespaces/kube-system"


@pytest.fixture(scope="module")
def rbac_applied(k8s_cluster: K8sCluster) -> K8sCluster:
    """The cluster with exactly the shipped RBAC files applied (again: `cluster up` applies them too)."""
    documents = manifests.load_directory(RBAC_DIR)
    manifests.apply_all(k8s_cluster.admin, documents, field_manager="netguard-test")
    _wait_for_policy(k8s_cluster)
    return k8s_cluster


def _wait_for_policy(k8s: K8sCluster) -> None:
    """The API server enforces a new ValidatingAdmissionPolicy after its informer sees it (about 1 s)."""
    probe = _configmap("netguard-policy-probe")
    remediate = k8s.client("remediate")

    def denied() -> bool:
        try:
            remediate.create(f"{KS}/configmaps", probe)
        except KubeForbidden:
            return True
        k8s.admin.delete_at(f"{KS}/configmaps/netguard-policy-probe")
        return False

    wait_until(denied, what="the netguard-remediate admission policy enforced", timeout=30)


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
            ("patch", "/apis/apps/v1/namespaces/kube-system/deployments/aws-lbc", {"spec": {"replicas": 5}}),
            (
                "patch",
                COREDNS,
                {"spec": {"replicas": 5}},
            ),  # RBAC allows the patch; the admission policy not this
            ("patch", f"{KS}/configmaps/coredns", {"data": {"Corefile": "."}}),
            ("delete", f"{KS}/services/kube-dns", None),
        ],
    )
    def test_is_denied_outside_its_grant(
        self, rbac_cluster: K8sCluster, verb: str, path: str, body: dict[str, Any] | None
    ) -> None:
        """Secrets, other namespaces, other Deployments, coredns outside its pod scheduling fields and
        the coredns ConfigMap answer 403."""
        remediate = rbac_cluster.client("remediate")
        with pytest.raises(KubeForbidden) as denied:
            _call(remediate, verb, path, body)
        assert denied.value.status == 403

    def test_nodelocal_dns_objects_are_its_own_and_only_those(self, rbac_cluster: K8sCluster) -> None:
        """It creates, patches, deletes node-local-dns objects; others it can neither create nor touch."""
        remediate = rbac_cluster.client("remediate")
        remediate.create(f"{KS}/configmaps", _nodelocal("ConfigMap", "node-local-dns"))
        remediate.patch(f"{KS}/configmaps/node-local-dns", {"metadata": {"labels": {"k": "w"}}})
        remediate.delete_at(f"{KS}/configmaps/node-local-dns")
        with pytest.raises(KubeForbidden):  # RBAC allows the create; the admission policy refuses it
            remediate.create(f"{KS}/configmaps", _configmap("not-nodelocal"))
        rbac_cluster.admin.create(f"{KS}/configmaps", _configmap("not-nodelocal"))
        with pytest.raises(KubeForbidden):
            remediate.delete_at(f"{KS}/configmaps/not-nodelocal")
        with pytest.raises(KubeForbidden):
            remediate.patch(f"{KS}/configmaps/not-nodelocal", {"data": {"k": "w"}})

    @pytest.mark.parametrize(
        ("attributes", "allowed"),
        [
            (("patch", "deployments", "apps", "coredns", "scale"), True),
            (("update", "deployments", "apps", "coredns", "scale"), False),  # the code only patches it
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
            (("delete", "configmaps", "", "kube-dns-upstream", ""), False),  # a Service only
            (("get", "secrets", "", "", ""), False),
            (("update", "nodes", "", "", ""), False),
            (("delete", "pods", "", "", ""), False),
            (("list", "pods", "", "", ""), True),  # in kube-system (CoreDNS's, by label) ...
            (("watch", "pods", "", "", ""), False),  # ... and nothing more
            (("get", "nodes", "", "", ""), False),
            (("list", "nodes", "", "", ""), True),
            # CoreDNS spreading: evictions in kube-system, and the coredns Deployment (its pod template
            # guarded by the admission policy).
            (("create", "pods", "", "", "eviction"), True),
            (("patch", "deployments", "apps", "coredns", ""), True),
            (("patch", "deployments", "apps", "aws-load-balancer-controller", ""), False),
            (("create", "deployments", "apps", "", ""), False),
            (("update", "deployments", "apps", "coredns", ""), False),
            (("create", "pods", "", "", ""), False),
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


# --- the admission policy (deploy/rbac/nodelocaldns-admission.yaml) --------------------------------------
# Objects are built from the NodeLocal DNSCache manifest netguard really applies, then changed in one way.
_Change = Callable[[dict[str, Any]], None]


def _nodelocal(kind: str, name: str) -> dict[str, Any]:
    for obj in render_manifest("10.100.0.10"):
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return copy.deepcopy(obj)
    raise AssertionError(f"no {kind} {name} in the NodeLocal DNSCache manifest")


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = obj["spec"]["template"]["spec"]
    return pod


def _renamed(name: str) -> _Change:
    return lambda obj: obj["metadata"].update(name=name)


def _image(obj: dict[str, Any]) -> None:
    _pod(obj)["containers"][0]["image"] = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"


def _command(obj: dict[str, Any]) -> None:
    _pod(obj)["containers"][0]["command"] = ["/bin/sh", "-c", "iptables -F"]


def _privileged(obj: dict[str, Any]) -> None:
    _pod(obj)["containers"][0]["securityContext"] = {"privileged": True}


def _service_account(obj: dict[str, Any]) -> None:
    _pod(obj)["serviceAccountName"] = "coredns"


def _host_root(obj: dict[str, Any]) -> None:
    _pod(obj)["volumes"].append({"name": "root", "hostPath": {"path": "/"}})


def _init_container(obj: dict[str, Any]) -> None:
    _pod(obj)["initContainers"] = [{"name": "x", "image": "registry.k8s.io/pause:3.10"}]


def _node_port(obj: dict[str, Any]) -> None:
    obj["spec"]["type"] = "NodePort"


def _external_ip(obj: dict[str, Any]) -> None:
    obj["spec"]["externalIPs"] = ["203.0.113.10"]


DENIED_CREATES: list[tuple[str, str, str, _Change]] = [
    ("DaemonSet", "node-local-dns", "another name, upstream image", _renamed("kube-proxy-helper")),
    ("DaemonSet", "node-local-dns", "another image", _image),
    ("DaemonSet", "node-local-dns", "the upstream image with a command override", _command),
    ("DaemonSet", "node-local-dns", "a privileged container", _privileged),
    ("DaemonSet", "node-local-dns", "another ServiceAccount", _service_account),
    ("DaemonSet", "node-local-dns", "the host's root mounted", _host_root),
    ("DaemonSet", "node-local-dns", "an init container", _init_container),
    ("ConfigMap", "node-local-dns", "aws-auth", _renamed("aws-auth")),
    ("ConfigMap", "node-local-dns", "another name", _renamed("kube-proxy-extra")),
    ("Service", "kube-dns-upstream", "another name", _renamed("metrics-gateway")),
    ("Service", "kube-dns-upstream", "type NodePort", _node_port),
    ("Service", "kube-dns-upstream", "externalIPs", _external_ip),
    ("ServiceAccount", "node-local-dns", "another name", _renamed("cluster-helper")),
]


class TestAdmissionPolicy:
    def test_pins_the_manifest_image(self) -> None:
        """The policy allows exactly the node-cache image deploy/nodelocaldns/ pins (no drift)."""
        (daemonset,) = [o for o in render_manifest("10.100.0.10") if o["kind"] == "DaemonSet"]
        image = _pod(daemonset)["containers"][0]["image"]
        assert image.startswith("registry.k8s.io/dns/k8s-dns-node-cache:")
        policy = (RBAC_DIR / "nodelocaldns-admission.yaml").read_text()
        pinned = set(re.findall(r"registry\.k8s\.io/dns/k8s-dns-node-cache:[\w.-]+", policy))
        assert pinned == {image}

    @pytest.mark.parametrize(
        ("kind", "base", "change"),
        [(kind, base, change) for kind, base, _, change in DENIED_CREATES],
        ids=[f"{kind}: {what}" for kind, _, what, _ in DENIED_CREATES],
    )
    def test_denies_other_names_images_and_types(
        self, rbac_cluster: K8sCluster, kind: str, base: str, change: _Change
    ) -> None:
        """RBAC lets the group create any such object; the policy refuses all but netguard's own."""
        remediate = rbac_cluster.client("remediate")
        obj = _nodelocal(kind, base)
        change(obj)
        with pytest.raises(KubeForbidden) as denied:
            remediate.create(manifests.collection_path(obj), obj)
        assert denied.value.status == 403
        assert "netguard-remediate" in denied.value.api_message  # the policy's denial, not RBAC's
        with pytest.raises(KubeNotFound):  # and no such object came to exist
            rbac_cluster.admin.get(object_path(obj))

    def test_allows_netguard_objects_by_server_side_apply_and_delete(self, rbac_cluster: K8sCluster) -> None:
        """Every object of the rendered manifest is applied (create, then a no-op re-apply) and deleted."""
        remediate = rbac_cluster.client("remediate")
        objects = render_manifest("10.100.0.10")
        for obj in objects:
            remediate.apply_at(object_path(obj), obj, field_manager="netguard", force=True)
        for obj in objects:  # a second apply is an UPDATE, admitted the same way
            remediate.apply_at(object_path(obj), obj, field_manager="netguard", force=True)
        assert remediate.get(object_path(objects[-1]))["metadata"]["name"] == objects[-1]["metadata"]["name"]
        for obj in reversed(objects):
            remediate.delete_at(object_path(obj))

    def test_denies_an_image_swap_on_the_existing_daemonset(self, rbac_cluster: K8sCluster) -> None:
        """Once node-local-dns exists, a patch to another image is refused (UPDATE is checked too)."""
        remediate = rbac_cluster.client("remediate")
        daemonset = _nodelocal("DaemonSet", "node-local-dns")
        remediate.apply_at(object_path(daemonset), daemonset, field_manager="netguard", force=True)
        swapped = copy.deepcopy(daemonset)
        _image(swapped)
        with pytest.raises(KubeForbidden) as denied:
            remediate.apply_at(object_path(swapped), swapped, field_manager="netguard", force=True)
        assert "k8s-dns-node-cache" in denied.value.api_message
        stored = rbac_cluster.admin.get(object_path(daemonset))
        assert _pod(stored)["containers"][0]["image"] == _pod(daemonset)["containers"][0]["image"]

    def test_coredns_deployment_only_netguards_spread(self, rbac_cluster: K8sCluster) -> None:
        """netguard's own hostname constraint may be added; any other constraint, the image, the
        ServiceAccount, host network or replicas may not."""
        remediate = rbac_cluster.client("remediate")
        other = {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
        ours = hostname_constraint(rbac_cluster.admin.get(COREDNS)["spec"]["selector"]["matchLabels"])
        patched = remediate.patch(
            COREDNS, {"spec": {"template": {"spec": {"topologySpreadConstraints": [ours]}}}}
        )
        assert _pod(patched)["topologySpreadConstraints"] == [ours]
        container = _pod(patched)["containers"][0]["name"]
        for body in (
            {"spec": {"template": {"spec": {"topologySpreadConstraints": [other]}}}},
            {"spec": {"template": {"spec": {"serviceAccountName": "node-local-dns"}}}},
            {"spec": {"template": {"spec": {"hostNetwork": True}}}},
            {"spec": {"replicas": 7}},
        ):
            with pytest.raises(KubeForbidden) as denied:
                remediate.patch(COREDNS, body)
            assert "netguard-remediate" in denied.value.api_message
        with pytest.raises(KubeForbidden):
            remediate.request(
                "PATCH",
                COREDNS,
                body=[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "evil:1"}],
                content_type="application/json-patch+json",
            )
        assert _pod(rbac_cluster.admin.get(COREDNS))["containers"][0]["name"] == container

    def test_policy_corefile_is_the_manifests(self) -> None:
        """The Corefile the policy pins is deploy/nodelocaldns's, placeholders and all (no drift)."""
        documents = manifests.load_directory(RBAC_DIR)
        (policy,) = [d for d in documents if d["kind"] == "ValidatingAdmissionPolicy"]
        (corefile,) = [v["expression"] for v in policy["spec"]["variables"] if v["name"] == "corefile"]
        (configmap,) = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d and d["kind"] == "ConfigMap"]
        assert json.loads(corefile) == configmap["data"]["Corefile"]

    def test_evicts_a_coredns_pod(self, rbac_cluster: K8sCluster) -> None:
        """The eviction API (which honours the PodDisruptionBudget) is open to the group."""
        remediate = rbac_cluster.client("remediate")
        pods = rbac_cluster.admin.list(f"{KS}/pods", label_selector="k8s-app=kube-dns")
        name = pods[0]["metadata"]["name"]
        eviction = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": "kube-system"},
        }
        remediate.create(f"{KS}/pods/{name}/eviction", eviction)
        wait_until(
            lambda: name not in {p["metadata"]["name"] for p in rbac_cluster.admin.list(f"{KS}/pods")},
            what="the evicted CoreDNS pod gone",
        )


def test_printed_manifest_for_a_live_cluster_is_admitted(
    rbac_cluster: K8sCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    """`netguard nodelocal manifest --kubeconfig` reads kube-dns from the cluster; what it prints is
    what the actuator applies, and the admission policy admits it (dry run)."""
    assert main(["nodelocal", "manifest", "--kubeconfig", str(rbac_cluster.kubeconfig("remediate"))]) == 0
    printed = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    kube_dns_ip = rbac_cluster.admin.get(f"{KS}/services/kube-dns")["spec"]["clusterIP"]
    assert printed == render_manifest(kube_dns_ip)
    remediate = rbac_cluster.client("remediate")
    for obj in printed:
        remediate.apply_at(object_path(obj), obj, field_manager="netguard", force=True, dry_run=True)
