"""The local control plane serves, is seeded like EKS, agrees with EC2, and schedules for real."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from netguard_cli.localstack import cluster, processes, seed
from netguard_cli.localstack.pki import ensure_pki
from netguard_cli.localstack.supervisor import listening_ports
from tests.support.k8s import COREDNS, EksWorld, K8sCluster, PathKube

pytestmark = [pytest.mark.integration, pytest.mark.k8s]


@pytest.fixture
def dns_baseline(k8s_cluster: K8sCluster) -> Iterator[K8sCluster]:
    k8s_cluster.reset_dns()
    yield k8s_cluster
    k8s_cluster.reset_dns()


def _ready(obj: dict[str, Any]) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class TestControlPlane:
    def test_api_server_reports_pinned_version_and_is_ready(self, k8s_cluster: K8sCluster) -> None:
        """/version answers with the pinned release and /readyz is ok with the cluster's own CA."""
        version = k8s_cluster.admin.get("/version")
        assert version["gitVersion"] == "v1.35.4"
        assert cluster.https_ok(f"{k8s_cluster.server}/readyz", ca_file=k8s_cluster.running.endpoints.ca_file)

    def test_every_component_is_running(self, k8s_cluster: K8sCluster) -> None:
        """All five components the state file lists are alive."""
        alive = cluster.running_pids(k8s_cluster.directory)
        assert set(alive) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

    def test_etcd_admits_only_the_stacks_client_certificate(self, k8s_cluster: K8sCluster) -> None:
        """etcd's client and peer listeners speak TLS and refuse a client without a certificate of the
        stack's CA: a local user cannot read or write objects around the API server."""
        pki = ensure_pki(k8s_cluster.directory / "pki")
        etcd = next(m for m in k8s_cluster.running.managed if m.name == "etcd")
        args = etcd.process.args
        assert isinstance(args, list), args  # the stack starts every component from an argument list
        argv = [os.fsdecode(a) for a in args[1:]]
        flags = {
            name: value for name, _, value in (a.removeprefix("--").partition("=") for a in argv if "=" in a)
        }
        urls = [flags["listen-client-urls"], flags["listen-peer-urls"]]
        assert all(url.startswith("https://127.0.0.1:") for url in urls)
        assert sorted(int(u.rsplit(":", 1)[1]) for u in urls) == listening_ports([etcd.pid])
        client = f"{flags['listen-client-urls']}/health"
        assert cluster.https_ok(
            client, ca_file=pki.ca_cert, client_cert=(pki.etcd_client_cert, pki.etcd_client_key)
        )
        assert not cluster.https_ok(client, ca_file=pki.ca_cert)  # no client certificate
        assert not processes.http_ok(client.replace("https://", "http://"))

    def test_every_listener_speaks_tls(self, k8s_cluster: K8sCluster) -> None:
        """No component of the control plane listens in plain text (docs/local-stack.md names the
        stack's other listeners, all on loopback)."""
        pki = ensure_pki(k8s_cluster.directory / "pki")
        ports = listening_ports([m.pid for m in k8s_cluster.running.managed])
        assert len(ports) >= 5  # etcd (client, peer), the API server, controller-manager, scheduler
        context = ssl._create_unverified_context()  # noqa: S323 -- whether TLS answers, not who
        context.load_cert_chain(str(pki.etcd_client_cert), str(pki.etcd_client_key))  # etcd asks for one
        for port in ports:
            assert not processes.http_ok(f"http://127.0.0.1:{port}/healthz"), port
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                context.wrap_socket(raw) as tls,
            ):
                assert tls.version(), port

    def test_kubeconfigs_exist_per_identity(self, k8s_cluster: K8sCluster) -> None:
        """Each identity's kubeconfig authenticates as its own user."""
        for identity, user in (
            ("admin", "admin"),
            ("enrich", "netguard-enrich"),
            ("remediate", "netguard-remediate"),
        ):
            review = k8s_cluster.client(identity).create(
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
            )
            assert review["status"]["userInfo"]["username"] == user


class TestSeeding:
    def test_nodes_look_like_an_eks_managed_node_group(self, k8s_cluster: K8sCluster) -> None:
        """Six Ready nodes over three zones, named and labelled as EKS names and labels them."""
        nodes = {n["metadata"]["name"]: n for n in k8s_cluster.admin.list("/api/v1/nodes")}
        assert len(nodes) == 6
        assert {n.az for n in k8s_cluster.nodes} == set(seed.ZONES)
        assert {n.instance_type for n in k8s_cluster.nodes} == {"m5.large", "c5.xlarge"}
        for expected in k8s_cluster.nodes:
            node = nodes[expected.name]
            labels = node["metadata"]["labels"]
            assert expected.name == f"ip-{expected.internal_ip.replace('.', '-')}.ec2.internal"
            assert node["spec"]["providerID"] == f"aws:///{expected.az}/{expected.instance_id}"
            assert labels["node.kubernetes.io/instance-type"] == expected.instance_type
            assert labels["topology.kubernetes.io/zone"] == expected.az
            assert labels["eks.amazonaws.com/nodegroup"] == expected.nodegroup
            addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
            assert addresses == {
                "InternalIP": expected.internal_ip,
                "InternalDNS": expected.name,
                "Hostname": expected.name,
            }
            assert _ready(node)

    def test_kube_system_is_seeded_as_eks_ships_it(self, dns_baseline: K8sCluster) -> None:
        """coredns: 2 replicas, preferred anti-affinity, a PDB; kube-dns 10.100.0.10; kube-proxy iptables."""
        admin = dns_baseline.admin
        deployment = admin.get(COREDNS)
        assert deployment["spec"]["replicas"] == 2
        affinity = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity
        assert affinity["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"][
            "topologyKey"
        ] == ("kubernetes.io/hostname")
        pdb = admin.get("/apis/policy/v1/namespaces/kube-system/poddisruptionbudgets/coredns")
        assert pdb["spec"]["maxUnavailable"] == 1
        service = admin.get("/api/v1/namespaces/kube-system/services/kube-dns")
        assert service["spec"]["clusterIP"] == seed.DNS_SERVICE_IP
        for name in ("kube-proxy", "kube-proxy-config"):
            config = admin.get(f"/api/v1/namespaces/kube-system/configmaps/{name}")["data"]["config"]
            assert "mode: iptables" in config

    def test_kube_proxy_mode_switches_to_ipvs_and_reset_restores_iptables(
        self, dns_baseline: K8sCluster
    ) -> None:
        """The ipvs variant is one call away, and reset_dns() undoes it."""
        seed.set_kube_proxy_mode(dns_baseline.admin, "ipvs")
        path = "/api/v1/namespaces/kube-system/configmaps/kube-proxy-config"
        assert "mode: ipvs" in dns_baseline.admin.get(path)["data"]["config"]
        dns_baseline.reset_dns()
        assert "mode: iptables" in dns_baseline.admin.get(path)["data"]["config"]

    def test_nodes_agree_with_ec2(self, eks_world: EksWorld) -> None:
        """Every node's instance exists in moto EC2 with the node's IP, DNS name, type and zone."""
        reservations = eks_world.ec2().describe_instances(InstanceIds=list(eks_world.instance_ids.values()))
        instances = {i["InstanceId"]: i for r in reservations["Reservations"] for i in r["Instances"]}
        assert len(instances) == 6
        for node in eks_world.nodes:
            instance = instances[eks_world.instance_ids[node.name]]
            assert instance["PrivateIpAddress"] == node.internal_ip
            assert instance["PrivateDnsName"] == node.name
            assert instance["InstanceType"] == node.instance_type
            assert instance["Placement"]["AvailabilityZone"] == node.az
            tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
            assert tags["eks:nodegroup-name"] == node.nodegroup


class TestScheduling:
    def test_coredns_scales_from_two_to_four_on_four_distinct_nodes(self, dns_baseline: K8sCluster) -> None:
        """The real scheduler spreads the new replicas (preferred anti-affinity) and kwok makes them Ready."""
        admin: PathKube = dns_baseline.admin
        dns_baseline.place_coredns(dns_baseline.nodes[0].name, dns_baseline.nodes[1].name)
        baseline = sorted(
            p["spec"]["nodeName"] for p in cluster.ready_pods(admin, "kube-system", "k8s-app=kube-dns")
        )
        assert len(set(baseline)) == 2
        scale = admin.patch(f"{COREDNS}/scale", {"spec": {"replicas": 4}})
        assert scale["spec"]["replicas"] == 4
        processes.wait_until(
            lambda: cluster.deployment_settled(admin, "kube-system", "coredns", 4),
            what="coredns 4/4",
            timeout=60,
        )
        pods = cluster.ready_pods(admin, "kube-system", "k8s-app=kube-dns")
        assert len(pods) == 4
        placed = sorted(pod["spec"]["nodeName"] for pod in pods)
        assert len(set(placed)) == 4, f"baseline on {baseline}, after the scale-up on {placed}"
        assert {pod["spec"]["nodeName"] for pod in pods} <= {node.name for node in dns_baseline.nodes}
        assert all(pod["status"]["phase"] == "Running" and pod["status"].get("podIP") for pod in pods)
        status = admin.get(COREDNS)["status"]
        assert (status["readyReplicas"], status["availableReplicas"]) == (4, 4)

    def test_reset_dns_brings_coredns_back_to_two(self, dns_baseline: K8sCluster) -> None:
        """After a scale-up and a foreign annotation, reset_dns() restores the seeded Deployment."""
        admin = dns_baseline.admin
        admin.patch(f"{COREDNS}/scale", {"spec": {"replicas": 3}})
        admin.patch(COREDNS, {"metadata": {"annotations": {"netguard.io/test": "x"}}})
        dns_baseline.reset_dns()
        deployment = admin.get(COREDNS)
        assert deployment["spec"]["replicas"] == 2
        assert "netguard.io/test" not in (deployment["metadata"].get("annotations") or {})
        assert len(cluster.ready_pods(admin, "kube-system", "k8s-app=kube-dns")) == 2


class TestEksEnv:
    def test_boto3_sees_the_worlds_instances(self, eks_env: EksWorld) -> None:
        """Inside eks_env, netguard's own boto3 clients reach the moto that holds the nodes' instances."""
        from netguard.clients import aws

        ec2 = aws.client("ec2")
        found = ec2.describe_instances(
            Filters=[{"Name": "tag:eks:cluster-name", "Values": [eks_env.cluster_name]}]
        )
        ids = {i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]}
        assert ids == set(eks_env.instance_ids.values())
        assert len(cluster.ready_pods(eks_env.cluster.admin, "kube-system", "k8s-app=kube-dns")) == 2
