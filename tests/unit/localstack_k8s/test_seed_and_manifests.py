"""Pure parts of the local cluster: node planning, EKS-like manifests, manifest paths, YAML loading."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from netguard_cli.localstack import manifests, seed
from netguard_cli.localstack.manifests import ManifestError

RBAC_DIR = Path(__file__).resolve().parents[3] / "deploy" / "rbac"


class TestPlanNodes:
    @given(st.integers(min_value=1, max_value=72))
    def test_names_ips_and_zones_agree(self, count: int) -> None:
        """Every node's name is its IP's EC2 DNS name, the IP sits in its zone's subnet, names are unique."""
        plans = seed.plan_nodes(count)
        assert len({p.name for p in plans}) == count
        for plan in plans:
            assert plan.name == f"ip-{plan.internal_ip.replace('.', '-')}.ec2.internal"
            assert ipaddress.ip_address(plan.internal_ip) in ipaddress.ip_network(plan.subnet_cidr)
            assert plan.subnet_cidr == f"10.0.{seed.ZONES.index(plan.az) + 1}.0/24"

    def test_six_nodes_cover_three_zones_and_both_types_in_each(self) -> None:
        """The default six nodes give every zone one m5.large and one c5.xlarge."""
        plans = seed.plan_nodes(6)
        by_zone = {zone: {p.shape.instance_type for p in plans if p.az == zone} for zone in seed.ZONES}
        assert by_zone == {zone: {"m5.large", "c5.xlarge"} for zone in seed.ZONES}

    def test_too_many_nodes_is_refused(self) -> None:
        """More nodes than the /24s can hold is an error, not an invalid IP."""
        with pytest.raises(ValueError, match="at most"):
            seed.plan_nodes(73)

    def test_deterministic_ids_look_like_ec2_and_are_stable(self) -> None:
        """`i-` and 17 hex digits, the same for the same name, different for another."""
        first = seed.deterministic_instance_id("ip-10-0-1-23.ec2.internal")
        assert first == seed.deterministic_instance_id("ip-10-0-1-23.ec2.internal")
        assert first != seed.deterministic_instance_id("ip-10-0-2-23.ec2.internal")
        assert re.fullmatch(r"i-[0-9a-f]{17}", first)


class TestManifests:
    def test_node_manifest_carries_provider_id_labels_and_addresses(self) -> None:
        """providerID, instance-type/zone/nodegroup labels, the kwok annotation and three addresses."""
        (node,) = seed.nodes_without_ec2(seed.plan_nodes(1))
        manifest = seed.node_manifest(node)
        assert manifest["spec"]["providerID"] == f"aws:///us-east-1a/{node.instance_id}"
        labels = manifest["metadata"]["labels"]
        assert labels["node.kubernetes.io/instance-type"] == "m5.large"
        assert labels["topology.kubernetes.io/zone"] == "us-east-1a"
        assert labels["eks.amazonaws.com/nodegroup"] == "ng-general"
        assert manifest["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
        types = [a["type"] for a in manifest["status"]["addresses"]]
        assert types == ["InternalIP", "InternalDNS", "Hostname"]

    def test_coredns_has_only_a_preferred_anti_affinity(self) -> None:
        """As on EKS: two replicas may share a node."""
        spec = seed.coredns_deployment()["spec"]
        assert spec["replicas"] == 2
        anti = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
        assert list(anti) == ["preferredDuringSchedulingIgnoredDuringExecution"]

    @pytest.mark.parametrize("mode", ["iptables", "ipvs"])
    def test_kube_proxy_configmaps_hold_the_mode(self, mode: seed.ProxyMode) -> None:
        """Both ConfigMaps carry a KubeProxyConfiguration in the requested mode."""
        for configmap in seed.kube_proxy_configmaps(mode):
            config = yaml.safe_load(configmap["data"]["config"])
            assert (config["kind"], config["mode"]) == ("KubeProxyConfiguration", mode)

    def test_every_seeded_object_has_a_path(self) -> None:
        """Every manifest seed applies maps to an API path in the namespace it declares."""
        paths = [manifests.object_path(m) for m in seed.kube_system_manifests()]
        assert "/apis/apps/v1/namespaces/kube-system/deployments/coredns" in paths
        assert "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:coredns" in paths
        assert "/api/v1/namespaces/kube-system/services/kube-dns" in paths


class TestPaths:
    @pytest.mark.parametrize(
        ("manifest", "path"),
        [
            ({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}, "/api/v1/nodes/n"),
            (
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
                "/api/v1/namespaces/default/configmaps/c",
            ),
            (
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "metadata": {"name": "d", "namespace": "kube-system"},
                },
                "/apis/apps/v1/namespaces/kube-system/daemonsets/d",
            ),
            (
                {
                    "apiVersion": "autoscaling/v2",
                    "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": "h", "namespace": "x"},
                },
                "/apis/autoscaling/v2/namespaces/x/horizontalpodautoscalers/h",
            ),
        ],
    )
    def test_object_path(self, manifest: dict[str, object], path: str) -> None:
        """Core and grouped APIs, cluster-scoped and namespaced kinds, the default namespace."""
        assert manifests.object_path(manifest) == path

    @pytest.mark.parametrize(
        "manifest",
        [
            {"apiVersion": "v1", "kind": "Unknown", "metadata": {"name": "x"}},
            {"kind": "ConfigMap", "metadata": {"name": "x"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
        ],
    )
    def test_bad_manifests_are_refused(self, manifest: dict[str, object]) -> None:
        """An unknown kind, a missing apiVersion or name raise ManifestError."""
        with pytest.raises(ManifestError):
            manifests.object_path(manifest)

    def test_load_documents_skips_empty_and_flattens_lists(self) -> None:
        """Empty documents vanish; a List contributes its items in order."""
        text = "---\n---\nkind: A\n---\nkind: List\nitems: [{kind: B}, {kind: C}]\n"
        assert [d["kind"] for d in manifests.load_documents(text)] == ["A", "B", "C"]

    def test_load_documents_refuses_scalars(self) -> None:
        """A document that is not a mapping is an error."""
        with pytest.raises(ManifestError):
            manifests.load_documents("just a string\n")

    def test_shipped_rbac_files_load_and_have_paths(self) -> None:
        """deploy/rbac/ parses into Roles, ClusterRoles, their bindings and the admission policy, each
        with a path."""
        documents = manifests.load_directory(RBAC_DIR)
        kinds = sorted(d["kind"] for d in documents)
        policy = ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
        assert kinds == sorted(["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"] * 2 + policy)
        assert all(manifests.object_path(d) for d in documents)
