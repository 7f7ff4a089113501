"""The local stack's DNS load model: packets/s to the VPC resolver per node, from pod placement."""

from __future__ import annotations

import pytest

from netguard_cli.localstack.dnsload import (
    DnsTraffic,
    LoadModel,
    drops_per_node,
    forwarded_per_pod,
    linklocal_pps,
)

NODES = ("a", "b", "c", "d", "e", "f")


class TestLinklocalPps:
    @pytest.mark.parametrize(
        ("coredns", "expected"),
        [
            (("a", "b"), {"a": 1200.0, "b": 1200.0}),
            (("a", "a"), {"a": 2400.0}),  # colocated: one interface carries everything
            (("a", "a", "b", "c"), {"a": 1200.0, "b": 600.0, "c": 600.0}),  # scaled, not spread
            (("a", "b", "c", "d"), {"a": 600.0, "b": 600.0, "c": 600.0, "d": 600.0}),
            ((), {}),  # no CoreDNS pod Ready: nothing is forwarded
        ],
    )
    def test_coredns_share_follows_its_pods(
        self, coredns: tuple[str, ...], expected: dict[str, float]
    ) -> None:
        """2400 queries/s split evenly over the Ready CoreDNS pods, summed per node."""
        assert linklocal_pps(DnsTraffic(NODES, coredns), LoadModel(2400.0)) == expected

    def test_nodelocal_on_every_node_absorbs_most_queries(self) -> None:
        """With a Ready cache on every node, each node forwards only its misses; CoreDNS forwards nothing."""
        traffic = DnsTraffic(NODES, ("a", "a"), nodelocal=frozenset(NODES))
        sent = linklocal_pps(traffic, LoadModel(9000.0, cache_hit_ratio=0.9))
        assert sent == dict.fromkeys(NODES, 150.0)
        assert drops_per_node(sent, 1024.0) == {}

    def test_nodelocal_on_some_nodes_only(self) -> None:
        """Nodes without a Ready cache still send their share through CoreDNS."""
        traffic = DnsTraffic(("a", "b"), ("a",), nodelocal=frozenset({"b"}))
        assert linklocal_pps(traffic, LoadModel(2000.0, cache_hit_ratio=0.5)) == {"a": 1000.0, "b": 500.0}

    def test_bypass_pods_send_from_their_node_whatever_the_cache(self) -> None:
        """Host-network pods' own queries land on their node, cache or not, CoreDNS or not."""
        traffic = DnsTraffic(NODES, ("a", "b"), nodelocal=frozenset({"e"}), bypass={"e": 1500.0})
        sent = linklocal_pps(traffic, LoadModel(1200.0, cache_hit_ratio=1.0))
        assert sent == {"a": 500.0, "b": 500.0, "e": 1500.0}
        assert drops_per_node(sent, 1024.0) == {"e": 476.0}


class TestDropsPerNode:
    def test_only_nodes_above_the_limit_drop(self) -> None:
        """A node drops what it sends above the allowance; at the limit exactly, nothing."""
        assert drops_per_node({"a": 1500.0, "b": 1024.0, "c": 10.0}, 1024.0) == {"a": 476.0}


class TestForwardedPerPod:
    def test_split_over_ready_pods_what_no_cache_answers(self) -> None:
        """Each CoreDNS pod forwards an even share of the queries from nodes without a Ready cache."""
        traffic = DnsTraffic(("a", "b", "c", "d"), ("a", "a"), coredns_pods=("coredns-1", "coredns-2"))
        assert forwarded_per_pod(traffic, LoadModel(2400.0)) == {"coredns-1": 1200.0, "coredns-2": 1200.0}
        cached = DnsTraffic(
            ("a", "b", "c", "d"), ("a", "b"), nodelocal=frozenset({"c", "d"}), coredns_pods=("x", "y")
        )
        assert forwarded_per_pod(cached, LoadModel(2400.0)) == {"x": 600.0, "y": 600.0}

    def test_unknown_pods_give_nothing(self) -> None:
        assert forwarded_per_pod(DnsTraffic(("a",), ("a",)), LoadModel(2400.0)) == {}
