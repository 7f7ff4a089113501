"""The named scenarios are designed as they claim: the load model says each needs what it says."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from netguard_cli.localstack import catalogue
from netguard_cli.localstack.catalogue import NODES, Expect
from netguard_cli.localstack.dnsload import DnsTraffic, LoadModel, drops_per_node, linklocal_pps
from netguard_cli.localstack.owners import cpa_linear_replicas
from netguard_cli.localstack.scenario import audit_counts

MAX_REPLICAS = 6


def drops(
    spec: catalogue.ScenarioSpec, coredns: tuple[str, ...], *, nodelocal: bool = False
) -> dict[str, float]:
    bypass: dict[str, float] = {}
    for pod in spec.bypass:
        bypass[pod.node] = bypass.get(pod.node, 0.0) + pod.qps
    traffic = DnsTraffic(
        NODES, coredns, nodelocal=frozenset(NODES) if nodelocal else frozenset(), bypass=bypass
    )
    return drops_per_node(linklocal_pps(traffic, LoadModel(spec.queries_pps)), 1024.0)


class TestCatalogue:
    @pytest.mark.parametrize("spec", catalogue.SCENARIOS, ids=lambda s: s.name)
    def test_starts_with_drops_on_its_hot_node(self, spec: catalogue.ScenarioSpec) -> None:
        """Every scenario's initial placement and load make its hot node drop."""
        assert spec.hot_node in drops(spec, spec.coredns)
        assert set(spec.coredns) <= set(NODES)

    def test_spread_drops_on_one_node_and_scaling_alone_fixes_it(self) -> None:
        """Replicas on two nodes, drops on one; one more replica on a new node ends them."""
        spec = catalogue.find("spread")
        assert set(drops(spec, spec.coredns)) == {spec.hot_node}
        assert len(set(spec.coredns)) == 2
        assert drops(spec, (*spec.coredns, NODES[2])) == {}

    def test_colocated_needs_spreading(self) -> None:
        """Even at the maximum, replicas added elsewhere leave the hot node dropping; spread, they do not."""
        spec = catalogue.find("colocated")
        assert spec.hot_node in drops(spec, (*spec.coredns, *NODES[1 : MAX_REPLICAS - 1]))
        assert drops(spec, NODES[:4]) == {}

    def test_heavy_needs_nodelocal(self) -> None:
        """No replica count within the maximum absorbs the load; NodeLocal DNSCache does."""
        spec = catalogue.find("heavy")
        assert drops(spec, NODES[:MAX_REPLICAS])
        assert drops(spec, spec.coredns, nodelocal=True) == {}

    def test_bypass_drops_only_where_no_coredns_runs(self) -> None:
        """The drops come from the bypass pods, on a node without CoreDNS; more replicas change nothing."""
        spec = catalogue.find("bypass")
        assert spec.expect is Expect.DIAGNOSIS_ONLY
        assert set(drops(spec, spec.coredns)) == {spec.hot_node}
        assert spec.hot_node not in spec.coredns
        assert set(drops(spec, NODES[:4])) == {spec.hot_node}

    def test_dry_run_puts_every_action_in_dry_run(self) -> None:
        spec = catalogue.find("dry-run")
        assert spec.coredns == catalogue.find("colocated").coredns
        assert {spec.modes["COREDNS_MODE"], spec.modes["NODELOCAL_MODE"]} == {"dry-run"}

    def test_unknown_name_lists_the_known_ones(self) -> None:
        with pytest.raises(KeyError, match="spread"):
            catalogue.find("nope")


class TestCpaLinear:
    @pytest.mark.parametrize(
        ("params", "nodes", "cores", "expected"),
        [
            ({"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2}, 6, 18, 2),
            ({"coresPerReplica": 256, "nodesPerReplica": 16, "min": 4}, 6, 18, 4),  # netguard raised min
            ({"nodesPerReplica": 2}, 6, 18, 3),
            ({"coresPerReplica": 4, "max": 3}, 6, 18, 3),
            ({"nodesPerReplica": 16, "preventSinglePointFailure": True}, 6, 18, 2),
            ({"nodesPerReplica": 16, "preventSinglePointFailure": True}, 1, 2, 1),
        ],
    )
    def test_replicas(self, params: dict[str, object], nodes: int, cores: int, expected: int) -> None:
        """cluster-proportional-autoscaler's linear formula, clamped by min and max."""
        assert cpa_linear_replicas(params, nodes=nodes, cores=cores) == expected


class TestAuditCounts:
    def test_counts_one_user_within_the_window(self, tmp_path: Path) -> None:
        """Requests grouped by verb and resource (with subresource); other users and times left out."""

        def line(user: str, verb: str, resource: str, at: float, sub: str = "") -> str:
            stamp = datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
            ref = {"resource": resource, **({"subresource": sub} if sub else {})}
            return json.dumps(
                {
                    "user": {"username": user},
                    "verb": verb,
                    "objectRef": ref,
                    "requestReceivedTimestamp": stamp,
                }
            )

        log = tmp_path / "audit.log"
        log.write_text(
            "\n".join(
                [
                    line("netguard-remediate", "get", "deployments", 100.0),
                    line("netguard-remediate", "patch", "deployments", 101.0, "scale"),
                    line("netguard-remediate", "get", "deployments", 102.0),
                    line("netguard-enrich", "list", "pods", 101.0),
                    line("netguard-remediate", "list", "pods", 500.0),
                    "not json",
                ]
            )
        )
        assert audit_counts(log, "netguard-remediate", 50.0, 200.0) == {
            "GET deployments": 2,
            "PATCH deployments/scale": 1,
        }
        assert audit_counts(tmp_path / "missing.log", "netguard-remediate", 0.0, 1.0) == {}
