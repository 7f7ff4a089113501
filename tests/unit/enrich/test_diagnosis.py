"""diagnose: plain words per allowance kind, CoreDNS context, the remediable flag."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from netguard.alerts.models import AllowanceKind, Status
from netguard.enrich.diagnosis import MEANING, diagnose
from netguard.enriched.models import DnsContext, InstanceInfo, NodeInfo
from tests.support.alertbuild import alert

NODE = NodeInfo(name="ip-10-0-1-5.ec2.internal")
INSTANCE = InstanceInfo(
    instance_id="i-1",
    instance_type="m5.large",
    network_performance="Up to 10 Gigabit",
    baseline_bandwidth_gbps=0.75,
    peak_bandwidth_gbps=10.0,
    max_network_interfaces=3,
)


def dns(on_node: tuple[str, ...] = (), **kwargs: Any) -> DnsContext:
    values: dict[str, Any] = {
        "coredns_replicas": 2,
        "coredns_ready": 2,
        "coredns_distinct_nodes": 1,
        "coredns_pods_on_node": on_node,
        "replica_owner": "deployment",
        "nodelocal_dns_enabled": False,
        "kube_proxy_mode": "iptables",
    }
    values.update(kwargs)
    return DnsContext(**values)


class TestLinklocal:
    def test_coredns_node_is_remediable(self) -> None:
        d = diagnose(
            alert(), node=NODE, instance=INSTANCE, dns=dns(("coredns-a", "coredns-b")), drop_rate=12.5
        )
        assert d.remediable
        assert "runs 2 CoreDNS pods" in d.summary
        text = " ".join(d.details)
        assert "2 of 2 CoreDNS replicas" in text
        assert "they share one network interface" in text
        assert "1024 packets" in text
        assert "12.5 per second" in text
        assert "NodeLocal DNSCache caches" in text
        assert "on 1 distinct node." in text

    def test_an_ambiguous_alert_is_never_remediable(self) -> None:
        """The same CoreDNS node, but the intake could not read the alert for sure: not remediable,
        and the details say why."""
        doubtful = replace(alert(), ambiguity="no reading of its labels reproduces the fingerprint")
        d = diagnose(doubtful, node=NODE, instance=INSTANCE, dns=dns(("coredns-a", "coredns-b")))
        assert not d.remediable
        assert any("could not be read for sure (no reading" in line for line in d.details)

    def test_node_without_coredns_is_not_remediable(self) -> None:
        d = diagnose(alert(), node=NODE, dns=dns(dns_bypass_pods=("kube-system/aws-node-x",)))
        assert not d.remediable
        assert "runs no CoreDNS pod" in d.summary
        assert any("kube-system/aws-node-x" in line for line in d.details)
        assert any("ClusterFirstWithHostNet" in line for line in d.details)

    def test_ipvs_mentions_kubelet(self) -> None:
        d = diagnose(alert(), node=NODE, dns=dns(("c",), kube_proxy_mode="ipvs"))
        assert any("IPVS" in line for line in d.details)

    def test_nodelocal_enabled_is_said(self) -> None:
        d = diagnose(alert(), node=NODE, dns=dns(("c",), nodelocal_dns_enabled=True))
        assert any("NodeLocal DNSCache is enabled" in line for line in d.details)

    def test_nodelocal_cache_on_the_node_is_named_apart_from_bypassers(self) -> None:
        """A NodeLocal DNSCache pod is the DNS path: named as such, never among the bypass pods."""
        servers = ("kube-system/node-local-dns-x",)
        d = diagnose(alert(), node=NODE, dns=dns(dns_servers_on_node=servers, nodelocal_dns_enabled=True))
        assert any(
            line.startswith("NodeLocal DNSCache runs here (kube-system/node-local-dns-x)")
            for line in d.details
        )
        assert not any("bypass cluster DNS (host network" in line for line in d.details)

    def test_unknown_dns(self) -> None:
        d = diagnose(alert(), node=NODE)
        assert not d.remediable
        assert "could not be inspected" in d.summary

    def test_resolved(self) -> None:
        d = diagnose(alert(status=Status.RESOLVED), node=NODE, dns=dns(("c",)))
        assert not d.remediable
        assert d.summary.startswith("Resolved: ")


@pytest.mark.parametrize("kind", [k for k in AllowanceKind if k is not AllowanceKind.LINKLOCAL])
def test_other_kinds_explain_and_are_not_remediable(kind: AllowanceKind) -> None:
    d = diagnose(alert(kind=kind), node=NODE, instance=INSTANCE, dns=dns(("c",)))
    assert not d.remediable
    assert d.details[0] == MEANING[kind]
    assert "ip-10-0-1-5.ec2.internal" in d.summary
    assert len(d.details) >= 2


def test_bandwidth_mentions_baseline() -> None:
    d = diagnose(alert(kind=AllowanceKind.BW_OUT), instance=INSTANCE)
    assert any("baseline 0.75 Gbps, burst up to 10.0 Gbps" in line for line in d.details)
    assert "instance i-1 (m5.large)" in d.summary


def test_no_node_no_instance() -> None:
    assert "an unidentified node" in diagnose(alert(kind=AllowanceKind.PPS)).summary
