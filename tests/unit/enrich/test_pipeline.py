"""The pipeline over moto EC2 and an in-memory Kubernetes API: addressing, clusters, failures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from netguard.alerts.models import AllowanceKind, Status
from netguard.clients.kubernetes import KubeUnavailable
from netguard.enrich.ec2 import Ec2Enricher
from netguard.enrich.kubernetes import KubernetesEnricher
from netguard.enrich.pipeline import Pipeline, choose_ec2_keys
from netguard_cli.localstack.processes import free_port
from tests.support.alertbuild import alert, group
from tests.support.fakekube import FakeKube, node, pod, standard_cluster

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import InstanceTypeDef


@dataclass
class World:
    ec2: EC2Client
    instances: list[InstanceTypeDef]
    kubes: dict[str, FakeKube]

    def name(self, i: int) -> str:
        return str(self.instances[i]["PrivateDnsName"])

    def ip(self, i: int) -> str:
        return str(self.instances[i]["PrivateIpAddress"])

    def iid(self, i: int) -> str:
        return str(self.instances[i]["InstanceId"])

    def pipeline(self, **kwargs: Any) -> Pipeline:
        enricher = Ec2Enricher(self.ec2)
        options: dict[str, Any] = {
            "ec2_for_region": lambda region: enricher,
            "kube_for_cluster": lambda name: KubernetesEnricher(self.kubes[name]),
            "cluster_regions": dict.fromkeys(self.kubes, "us-east-1"),
            "default_region": "us-east-1",
            "default_cluster": "prod",
        }
        options.update(kwargs)
        return Pipeline(**options)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Four instances; prod has nodes 0-2 (CoreDNS on 0), staging has node 3."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        image = "ami-12c6146b"  # one of moto's built-in images
        instances = ec2.run_instances(ImageId=image, MinCount=4, MaxCount=4, InstanceType="m5.large")[
            "Instances"
        ]

        def kube_node(i: int) -> dict[str, Any]:
            inst = instances[i]
            return node(inst["PrivateDnsName"], inst["PrivateIpAddress"], instance_id=inst["InstanceId"])

        prod = standard_cluster(
            coredns_nodes=(instances[0]["PrivateDnsName"], instances[0]["PrivateDnsName"])
        )
        prod.add("/api/v1/nodes", kube_node(0), kube_node(1), kube_node(2))
        prod.add(
            "/api/v1/namespaces/monitoring/pods",
            pod("exporter-0", instances[0]["PrivateDnsName"], namespace="monitoring", host_network=True),
        )
        staging = standard_cluster(coredns_nodes=(instances[3]["PrivateDnsName"],))
        staging.add("/api/v1/nodes", kube_node(3))
        yield World(ec2, instances, {"prod": prod, "staging": staging})


class TestAddressing:
    def test_ip_port_on_coredns_node(self, world: World) -> None:
        """IP:port finds instance and node; both CoreDNS replicas share it; remediable."""
        a = alert({"instance": f"{world.ip(0)}:9100"})
        result = world.pipeline().enrich(group(a))
        assert result.errors == ()
        (enriched,) = result.alerts
        assert enriched.cluster == "prod"
        assert enriched.instance is not None
        assert enriched.instance.instance_id == world.iid(0)
        assert enriched.instance.baseline_bandwidth_gbps == 0.75
        assert enriched.node is not None
        assert enriched.node.name == world.name(0)
        assert enriched.dns is not None
        assert enriched.dns.coredns_pods_on_node == ("coredns-0", "coredns-1")
        assert enriched.dns.coredns_distinct_nodes == 1
        assert enriched.dns.dns_bypass_pods == ("monitoring/exporter-0",)
        assert enriched.dns.dns_servers_on_node == ("kube-system/coredns-0", "kube-system/coredns-1")
        assert enriched.dns.kube_proxy_mode == "iptables"
        assert enriched.diagnosis is not None
        assert enriched.diagnosis.remediable

    def test_node_name(self, world: World) -> None:
        a = alert({"node": world.name(1)})
        (enriched,) = world.pipeline().enrich(group(a)).alerts
        assert enriched.instance is not None
        assert enriched.instance.instance_id == world.iid(1)
        assert enriched.dns is not None
        assert enriched.dns.coredns_pods_on_node == ()
        assert enriched.diagnosis is not None
        assert not enriched.diagnosis.remediable

    def test_instance_id(self, world: World) -> None:
        a = alert({"instance_id": world.iid(2)}, kind=AllowanceKind.PPS)
        (enriched,) = world.pipeline().enrich(group(a)).alerts
        assert enriched.node is not None
        assert enriched.node.name == world.name(2)
        assert enriched.instance is not None
        assert enriched.instance.private_ip == world.ip(2)

    def test_unknown_ip_is_an_error_for_that_alert_only(self, world: World) -> None:
        known = alert({"instance": f"{world.ip(0)}:9100"})
        unknown = alert({"instance": "10.99.99.99:9100"})
        result = world.pipeline().enrich(group(known, unknown))
        assert {(e.source, e.fingerprint) for e in result.errors} == {
            ("ec2", unknown.fingerprint),
            ("kubernetes", unknown.fingerprint),
        }
        assert "10.99.99.99" in result.errors[0].message
        assert result.alerts[1].instance is None
        assert result.alerts[1].diagnosis is not None
        assert result.alerts[0].instance is not None

    def test_unaddressed_alert(self, world: World) -> None:
        a = alert({})
        result = world.pipeline().enrich(group(a))
        assert [e.source for e in result.errors] == ["resolve"]
        assert result.alerts[0].diagnosis is not None

    def test_two_clusters_in_one_group(self, world: World) -> None:
        """Each alert is enriched against its own cluster's API server."""
        a = alert({"instance": f"{world.ip(0)}:9100", "cluster": "prod"})
        b = alert({"instance": f"{world.ip(3)}:9100", "cluster": "staging"})
        result = world.pipeline().enrich(group(a, b))
        assert result.errors == ()
        assert [x.cluster for x in result.alerts] == ["prod", "staging"]
        assert result.alerts[1].node is not None
        assert result.alerts[1].node.name == world.name(3)
        assert result.alerts[1].dns is not None
        assert result.alerts[1].dns.coredns_pods_on_node == ("coredns-0",)
        assert any(k.startswith("kubernetes[staging]") for k in result.calls)

    def test_unconfigured_cluster_still_gets_ec2(self, world: World) -> None:
        a = alert({"instance": f"{world.ip(0)}:9100", "cluster": "unknown"})
        result = world.pipeline().enrich(group(a))
        assert [e.source for e in result.errors] == ["config"]
        assert result.alerts[0].instance is not None
        assert result.alerts[0].node is None

    def test_resolved_is_never_remediable(self, world: World) -> None:
        a = alert({"instance": f"{world.ip(0)}:9100"}, status=Status.RESOLVED)
        (enriched,) = world.pipeline().enrich(group(a, status=Status.RESOLVED)).alerts
        assert enriched.diagnosis is not None
        assert not enriched.diagnosis.remediable
        assert enriched.diagnosis.summary.startswith("Resolved:")


class TestBulk:
    def test_storm_has_constant_kubernetes_requests(self, world: World) -> None:
        """300 alerts on 3 nodes cost the same Kubernetes requests as 3 alerts, and one EC2 request."""
        pipeline = world.pipeline()
        few = pipeline.enrich(
            group(*(alert({"instance": f"{world.ip(i)}:9100", "n": "0"}) for i in range(3)))
        )
        many = pipeline.enrich(
            group(*(alert({"instance": f"{world.ip(i % 3)}:9100", "n": str(i)}) for i in range(300)))
        )
        kube_few = sum(v for k, v in few.calls.items() if k.startswith("kubernetes"))
        kube_many = sum(v for k, v in many.calls.items() if k.startswith("kubernetes"))
        assert kube_few == kube_many
        assert many.calls["ec2 DescribeInstances"] == 1
        assert many.errors == ()


class TestFailures:
    def test_kubernetes_outage(self, world: World) -> None:
        """The API server is down: one error, EC2 still enriches, no further Kubernetes requests."""
        world.kubes["prod"].fail("/", KubeUnavailable(0, "ConnectionError", "refused", verb="GET", path="/"))
        a = alert({"instance": f"{world.ip(0)}:9100"})
        result = world.pipeline().enrich(group(a))
        assert [e.source for e in result.errors] == ["kubernetes"]
        assert "refused" in result.errors[0].message
        assert world.kubes["prod"].total_calls() == 1
        assert result.alerts[0].instance is not None
        assert result.alerts[0].dns is None
        assert result.alerts[0].diagnosis is not None

    def test_eks_client_cannot_be_built(self, world: World) -> None:
        def broken(name: str) -> KubernetesEnricher:
            raise RuntimeError("DescribeCluster denied")

        result = world.pipeline(kube_for_cluster=broken).enrich(
            group(alert({"instance": f"{world.ip(0)}:1"}))
        )
        assert [(e.source, e.message) for e in result.errors] == [
            ("eks", "RuntimeError: DescribeCluster denied")
        ]

    def test_ec2_outage(self, world: World) -> None:
        dead = boto3.client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{free_port()}",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1),
        )
        a = alert({"instance": f"{world.ip(0)}:9100"})
        result = world.pipeline(ec2_for_region=lambda region: Ec2Enricher(dead)).enrich(group(a))
        assert [e.source for e in result.errors] == ["ec2"]
        assert result.alerts[0].node is not None
        assert result.alerts[0].instance is None

    def test_dns_observation_failure_keeps_nodes(self, world: World) -> None:
        world.kubes["prod"].fail(
            "/apis/apps", KubeUnavailable(503, "ServiceUnavailable", "busy", verb="GET", path="/apis/apps")
        )
        result = world.pipeline().enrich(group(alert({"instance": f"{world.ip(0)}:9100"})))
        assert [e.source for e in result.errors] == ["kubernetes"]
        assert result.alerts[0].node is not None
        assert result.alerts[0].dns is None


class TestKeyChoice:
    @pytest.mark.parametrize(
        ("candidates", "expected"),
        [
            (
                [
                    {"instance-id": "i-1", "private-ip-address": "10.0.0.1"},
                    {"private-ip-address": "10.0.0.2"},
                ],
                {
                    "private-ip-address": {"10.0.0.1", "10.0.0.2"},
                    "instance-id": set(),
                    "private-dns-name": set(),
                },
            ),
            (
                [{"instance-id": "i-1"}, {"instance-id": "i-2", "private-ip-address": "10.0.0.2"}],
                {"private-ip-address": set(), "instance-id": {"i-1", "i-2"}, "private-dns-name": set()},
            ),
            (
                [{"instance-id": "i-1"}, {"private-dns-name": "ip-1.ec2.internal"}, {}],
                {
                    "private-ip-address": set(),
                    "instance-id": {"i-1"},
                    "private-dns-name": {"ip-1.ec2.internal"},
                },
            ),
        ],
    )
    def test_fewest_kinds(self, candidates: list[dict[str, str]], expected: dict[str, set[str]]) -> None:
        """Alerts that all carry an IP are looked up by IP only, even when some also have an id."""
        assert choose_ec2_keys(candidates) == expected

    def test_mixed_node_and_ip_alerts_cost_one_request(self, world: World) -> None:
        """Alerts on nodes (ids known from providerID) and on non-node IPs share one filter kind."""
        alerts = [alert({"instance": f"{world.ip(i)}:9100"}) for i in range(4)]
        alerts.append(alert({"instance": "10.77.0.1:9100"}))
        result = world.pipeline().enrich(group(*alerts))
        assert result.calls["ec2 DescribeInstances"] == 1
