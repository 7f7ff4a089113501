"""Ec2Enricher against moto: bulk filters in chunks of 200, instance-type network facts, caching."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from netguard.enrich.cache import TtlCache
from netguard.enrich.ec2 import MAX_FILTER_VALUES, Ec2Enricher
from netguard.enrich.errors import EnrichError


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("ec2", region_name="us-east-1")


def count_calls(client: Any) -> dict[str, int]:
    """Counts requests as botocore sends them (independent of the enricher's own counter)."""
    counts: dict[str, int] = {}

    def hook(model: Any, **_: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    client.meta.events.register("before-call.ec2.*", hook)
    return counts


def run(ec2: Any, count: int, instance_type: str = "m5.large") -> list[dict[str, Any]]:
    """`count` instances with distinct private IPs (moto's random IPs can collide, like a birthday)."""
    image = "ami-12c6146b"  # one of moto's built-in images
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.0.0/16")["Subnet"]["SubnetId"]
    return [
        ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType=instance_type,
            SubnetId=subnet,
            PrivateIpAddress=f"10.42.{i // 250}.{i % 250 + 4}",
        )["Instances"][0]
        for i in range(count)
    ]


class TestInstances:
    def test_by_ip_dns_and_id(self, ec2: Any) -> None:
        """Each kind of key finds its instance, and every index points at the same facts."""
        a, b, c = run(ec2, 3)
        lookup = Ec2Enricher(ec2).instances(
            ips=[a["PrivateIpAddress"]],
            dns_names=[b["PrivateDnsName"].upper()],
            instance_ids=[c["InstanceId"]],
        )
        by_ip, by_name = lookup.find(ip=a["PrivateIpAddress"]), lookup.find(dns_name=b["PrivateDnsName"])
        assert by_ip is not None
        assert by_name is not None
        assert (by_ip.instance_id, by_name.instance_id) == (a["InstanceId"], b["InstanceId"])
        found = lookup.find(instance_id=c["InstanceId"])
        assert found is not None
        assert found.instance_type == "m5.large"
        assert found.state == "running"
        assert found.availability_zone.startswith("us-east-1")

    def test_unknown_keys_find_nothing(self, ec2: Any) -> None:
        lookup = Ec2Enricher(ec2).instances(ips=["10.250.250.250"], instance_ids=["i-00000000000000000"])
        assert lookup.find(ip="10.250.250.250") is None
        assert lookup.by_id == {}

    @pytest.mark.parametrize("count", [1, 200, 201, 450])
    def test_chunks_of_200(self, ec2: Any, count: int) -> None:
        """n IPs cost ceil(n/200) DescribeInstances requests, counted by botocore itself."""
        instances = run(ec2, count)
        calls = count_calls(ec2)
        enricher = Ec2Enricher(ec2)
        lookup = enricher.instances(ips=[i["PrivateIpAddress"] for i in instances])
        assert len(lookup.by_ip) == count
        assert calls["DescribeInstances"] == math.ceil(count / MAX_FILTER_VALUES)
        assert enricher.calls["ec2 DescribeInstances"] == calls["DescribeInstances"]

    def test_duplicates_and_empty_keys_are_not_requested(self, ec2: Any) -> None:
        (instance,) = run(ec2, 1)
        calls = count_calls(ec2)
        Ec2Enricher(ec2).instances(ips=[instance["PrivateIpAddress"]] * 500 + [""])
        assert calls == {"DescribeInstances": 1}

    def test_no_keys_no_requests(self, ec2: Any) -> None:
        calls = count_calls(ec2)
        assert Ec2Enricher(ec2).instances().by_id == {}
        assert calls == {}


class TestInstanceTypes:
    def test_network_facts(self, ec2: Any) -> None:
        (instance,) = run(ec2, 1, "m5.large")
        enricher = Ec2Enricher(ec2)
        lookup = enricher.with_networks(enricher.instances(instance_ids=[instance["InstanceId"]]))
        info = lookup.find(instance_id=instance["InstanceId"])
        assert info is not None
        assert info.network_performance == "Up to 10 Gigabit"
        assert info.baseline_bandwidth_gbps == 0.75
        assert info.peak_bandwidth_gbps == 10.0
        assert info.max_network_interfaces == 3
        assert info.ena_support == "required"
        assert lookup.find(ip=instance["PrivateIpAddress"]) == info

    def test_cached_within_lifetime_and_refreshed_after(self, ec2: Any) -> None:
        now = [0.0]
        enricher = Ec2Enricher(ec2, type_cache=TtlCache(60, clock=lambda: now[0]))
        calls = count_calls(ec2)
        enricher.type_networks(["m5.large", "t3.micro"])
        enricher.type_networks(["m5.large"])
        assert calls["DescribeInstanceTypes"] == 1
        now[0] = 61
        enricher.type_networks(["m5.large"])
        assert calls["DescribeInstanceTypes"] == 2

    def test_unknown_type_is_an_enrich_error(self, ec2: Any) -> None:
        with pytest.raises(EnrichError, match="DescribeInstanceTypes failed: InvalidInstanceType"):
            Ec2Enricher(ec2).type_networks(["m0.nonexistent"])


def test_dead_endpoint_is_an_enrich_error() -> None:
    from botocore.config import Config

    from netguard_cli.localstack.processes import free_port

    client = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(EnrichError, match="DescribeInstances failed"):
        Ec2Enricher(client).instances(ips=["10.0.0.1"])
