"""NodeLocal DNSCache: rendering the upstream manifest, enabling and disabling it safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard.clients.kubernetes import KubeUnavailable
from netguard.dns import ClusterDns, OwnerKind, ReplicaOwner
from netguard.remediate.actuators import (
    ActuatorError,
    ActuatorRetryable,
    NodeLocalDnsActuator,
    render_manifest,
)
from netguard.remediate.actuators.nodelocal import manifest_template, object_path
from tests.unit.remediate_actuators.fakes import FakeApiServer

ROOT = Path(__file__).resolve().parents[3]
EXPECTED = [
    ("ServiceAccount", "node-local-dns"),
    ("Service", "kube-dns-upstream"),
    ("ConfigMap", "node-local-dns"),
    ("DaemonSet", "node-local-dns"),
    ("Service", "node-local-dns"),
]
DS = "/apis/apps/v1/namespaces/kube-system/daemonsets/node-local-dns"
UPSTREAM = "/api/v1/namespaces/kube-system/services/kube-dns-upstream"


def dns(mode: str = "iptables", ip: str = "10.100.0.10", domain: str = "cluster.local") -> ClusterDns:
    return ClusterDns(
        coredns_desired=2,
        coredns_ready=2,
        pods=(),
        owner=ReplicaOwner(OwnerKind.DEPLOYMENT, "coredns"),
        nodelocal_enabled=False,
        kube_proxy_mode=mode,
        kube_dns_ip=ip,
        cluster_domain=domain,
    )


class TestRender:
    """The manifest is the upstream one with netguard's three values and label."""

    def test_one_source(self) -> None:
        """The packaged manifest and deploy/nodelocaldns/ are byte-for-byte the same file."""
        deployed = (ROOT / "deploy/nodelocaldns/nodelocaldns.yaml").read_bytes()
        assert manifest_template().encode() == deployed

    def test_objects_and_namespace(self) -> None:
        """Five objects, in apply order, all in kube-system, all labelled managed-by netguard."""
        objects = render_manifest("10.100.0.10")
        assert [(o["kind"], o["metadata"]["name"]) for o in objects] == EXPECTED
        assert {o["metadata"]["namespace"] for o in objects} == {"kube-system"}
        assert all(o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "netguard" for o in objects)

    def test_placeholders_filled(self) -> None:
        """The kube-dns IP, link-local IP and domain replace their placeholders everywhere."""
        objects = render_manifest("172.20.0.10", "169.254.20.10", "corp.internal")
        text = yaml.safe_dump_all(objects)
        for placeholder in ("__PILLAR__DNS__SERVER__", "__PILLAR__LOCAL__DNS__", "__PILLAR__DNS__DOMAIN__"):
            assert placeholder not in text
        corefile = objects[2]["data"]["Corefile"]
        assert corefile.startswith("corp.internal:53 {")
        assert "bind 169.254.20.10 172.20.0.10" in corefile
        container = objects[3]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][:2] == ["-localip", "169.254.20.10,172.20.0.10"]
        assert container["livenessProbe"]["httpGet"]["host"] == "169.254.20.10"

    def test_node_cache_placeholders_left(self) -> None:
        """node-cache fills __PILLAR__CLUSTER__DNS__ and __PILLAR__UPSTREAM__SERVERS__ itself."""
        corefile = render_manifest("10.100.0.10")[2]["data"]["Corefile"]
        assert "forward . __PILLAR__CLUSTER__DNS__" in corefile
        assert "forward . __PILLAR__UPSTREAM__SERVERS__" in corefile

    def test_daemonset_as_upstream(self) -> None:
        """Host network, Default DNS policy, system-node-critical, the node-local-dns service account."""
        pod = render_manifest("10.100.0.10")[3]["spec"]["template"]["spec"]
        assert pod["hostNetwork"] is True
        assert pod["dnsPolicy"] == "Default"
        assert pod["priorityClassName"] == "system-node-critical"
        assert pod["serviceAccountName"] == "node-local-dns"

    @pytest.mark.parametrize(
        ("ip", "local", "domain"),
        [
            ("", "169.254.20.10", "cluster.local"),
            ("10.0.0.10", "nope", "cluster.local"),
            ("10.0.0.10", "169.254.20.10", "bad domain"),
            ("10.0.0.10 ; x", "169.254.20.10", "cluster.local"),
        ],
    )
    def test_bad_values_refused(self, ip: str, local: str, domain: str) -> None:
        """Values that are not IPs or DNS names never reach the manifest."""
        with pytest.raises(ActuatorError):
            render_manifest(ip, local, domain)


class TestEnableDisable:
    """Enable applies every object with netguard's field manager; disable removes exactly those."""

    def test_enable_applies_everything(self) -> None:
        """Five server-side applies, each labelled and owned by field manager netguard."""
        api = FakeApiServer()
        result = NodeLocalDnsActuator(api).enable(dns(), dry_run=False)
        assert result.applied
        assert [r[0] for r in api.writes()] == ["APPLY"] * 5
        assert len(result.after["objects"]) == 5
        assert result.before["objects"] == []
        for obj in api.objects.values():
            assert obj["metadata"]["managedFields"][-1]["manager"] == "netguard"

    def test_enable_then_disable_leaves_nothing(self) -> None:
        """disable after enable leaves the store as it was before."""
        api = FakeApiServer()
        api.put("/api/v1/namespaces/kube-system/services/kube-dns", {"spec": {"clusterIP": "10.100.0.10"}})
        before = dict(api.objects)
        actuator = NodeLocalDnsActuator(api)
        actuator.enable(dns(), dry_run=False)
        assert actuator.is_enabled()
        result = actuator.disable(dry_run=False)
        assert result.applied
        assert api.objects == before
        assert not actuator.is_enabled()

    def test_enable_twice_changes_nothing(self) -> None:
        """A second enable is reported as no change."""
        api = FakeApiServer()
        actuator = NodeLocalDnsActuator(api)
        actuator.enable(dns(), dry_run=False)
        again = actuator.enable(dns(), dry_run=False)
        assert not again.applied
        assert len(again.before["objects"]) == 5

    @pytest.mark.parametrize(
        ("mode", "reason"),
        [
            ("ipvs", "IPVS mode.*--cluster-dns"),
            ("nftables", "iptables mode.*'nftables'"),
            ("", "no kube-proxy configuration"),
        ],
    )
    def test_refused_without_iptables(self, mode: str, reason: str) -> None:
        """Only iptables mode is enabled; the refusal says why, and nothing is sent."""
        api = FakeApiServer()
        with pytest.raises(ActuatorError, match=reason):
            NodeLocalDnsActuator(api).enable(dns(mode), dry_run=False)
        assert api.requests == []

    def test_refused_when_someone_elses_objects_exist(self) -> None:
        """An existing kube-dns-upstream not applied by netguard is left alone and enable refused."""
        api = FakeApiServer()
        api.put(UPSTREAM, {"metadata": {"labels": {"k8s-app": "kube-dns"}}, "spec": {}})
        with pytest.raises(ActuatorError, match="Service kube-system/kube-dns-upstream"):
            NodeLocalDnsActuator(api).enable(dns(), dry_run=False)
        assert api.writes() == []

    def test_disable_leaves_foreign_objects(self) -> None:
        """disable never deletes a node-local-dns object without netguard's label and field manager."""
        api = FakeApiServer()
        foreign = {"metadata": {"labels": {"app.kubernetes.io/managed-by": "netguard"}}, "spec": {}}
        api.put(DS, foreign)  # labelled, but netguard's field manager never wrote it
        result = NodeLocalDnsActuator(api).disable(dry_run=False)
        assert not result.applied
        assert DS in api.objects
        assert result.before["kept"] == ["DaemonSet kube-system/node-local-dns"]

    def test_dry_run_changes_nothing(self) -> None:
        """Dry-run enable and disable send dryRun requests only."""
        api = FakeApiServer()
        actuator = NodeLocalDnsActuator(api)
        result = actuator.enable(dns(), dry_run=True)
        assert not result.applied
        assert api.objects == {}
        assert all(dry for _, _, dry in api.writes())
        actuator.enable(dns(), dry_run=False)
        snapshot = {k: dict(v) for k, v in api.objects.items()}
        removed = actuator.disable(dry_run=True)
        assert not removed.applied
        assert len(removed.before["objects"]) == 5
        assert {k: dict(v) for k, v in api.objects.items()} == snapshot

    def test_failed_enable_removes_what_it_created(self) -> None:
        """When an apply fails half-way, the objects this call created are removed again."""
        api = FakeApiServer()
        api.fail("APPLY", DS, KubeUnavailable(503, "ServiceUnavailable", "down", verb="PATCH", path=DS))
        with pytest.raises(ActuatorRetryable):
            NodeLocalDnsActuator(api).enable(dns(), dry_run=False)
        assert api.objects == {}

    def test_paths(self) -> None:
        """Core objects live under /api/v1, the DaemonSet under /apis/apps/v1."""
        paths = [object_path(o) for o in render_manifest("10.0.0.10")]
        assert paths[0] == "/api/v1/namespaces/kube-system/serviceaccounts/node-local-dns"
        assert paths[3] == DS


def test_disable_is_exact_with_unrelated_objects() -> None:
    """Unrelated kube-system objects survive enable and disable untouched."""
    api = FakeApiServer()
    unrelated: dict[str, Any] = {"metadata": {"labels": {"app.kubernetes.io/managed-by": "netguard"}}}
    api.put("/api/v1/namespaces/kube-system/configmaps/netguard-other", unrelated)
    actuator = NodeLocalDnsActuator(api)
    actuator.enable(dns(), dry_run=False)
    actuator.disable(dry_run=False)
    assert list(api.objects) == ["/api/v1/namespaces/kube-system/configmaps/netguard-other"]
