"""The spread actuator's pure parts: the constraint, which pods move, add-on values (issue 9)."""

from __future__ import annotations

import pytest

from netguard.dns.observe import spreads_by_host
from netguard.remediate.actuators import hostname_constraint, pods_to_evict
from netguard.remediate.actuators.spread import PodRef, with_spread_values

LABELS = {"k8s-app": "kube-dns"}


class TestPodsToEvict:
    @pytest.mark.parametrize(
        ("pods", "per_node", "evicted"),
        [
            ([("a1", "a"), ("a2", "a")], 1, ["a1"]),
            ([("a1", "a"), ("b1", "b")], 1, []),
            ([("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b")], 1, ["a1", "a2"]),
            ([("a1", "a"), ("a2", "a"), ("a3", "a")], 2, ["a1"]),
            ([("p", "")], 1, []),
        ],
    )
    def test_only_the_extras_move(
        self, pods: list[tuple[str, str]], per_node: int, evicted: list[str]
    ) -> None:
        refs = [PodRef(name, node, ready=True) for name, node in pods]
        assert [p.name for p in pods_to_evict(refs, per_node)] == evicted

    def test_not_ready_replicas_move_first(self) -> None:
        """A replica that serves nothing is the cheapest to move."""
        refs = [PodRef("a1", "a", ready=True), PodRef("a2", "a", ready=False)]
        assert [p.name for p in pods_to_evict(refs, 1)] == ["a2"]


class TestConstraint:
    def test_hard_one_per_node_per_rollout(self) -> None:
        constraint = hostname_constraint(LABELS)
        assert constraint["topologyKey"] == "kubernetes.io/hostname"
        assert (constraint["maxSkew"], constraint["whenUnsatisfiable"]) == (1, "DoNotSchedule")
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]
        assert constraint["labelSelector"] == {"matchLabels": LABELS}
        assert spreads_by_host({"topologySpreadConstraints": [constraint]})

    @pytest.mark.parametrize(
        ("spec", "spreads"),
        [
            ({}, False),
            (
                {
                    "topologySpreadConstraints": [
                        {**hostname_constraint(LABELS), "whenUnsatisfiable": "ScheduleAnyway"}
                    ]
                },
                False,
            ),
            (
                {
                    "topologySpreadConstraints": [
                        {"topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
                    ]
                },
                False,
            ),
            (
                {
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100}]
                        }
                    }
                },
                False,
            ),
            (
                {
                    "affinity": {
                        "podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {"topologyKey": "kubernetes.io/hostname"}
                            ]
                        }
                    }
                },
                True,
            ),
        ],
    )
    def test_what_counts_as_durable(self, spec: dict[str, object], spreads: bool) -> None:
        """Only a hard rule keeps an evicted replica from coming back; preferences do not."""
        assert spreads_by_host(spec) is spreads


class TestAddonValues:
    def test_constraint_added_other_values_kept(self) -> None:
        zone = {
            "topologyKey": "topology.kubernetes.io/zone",
            "maxSkew": 1,
            "whenUnsatisfiable": "ScheduleAnyway",
        }
        values = {"replicaCount": 4, "topologySpreadConstraints": [zone]}
        merged = with_spread_values(values, "topologySpreadConstraints", LABELS)
        assert merged["replicaCount"] == 4
        assert merged["topologySpreadConstraints"] == [zone, hostname_constraint(LABELS)]
        assert values["topologySpreadConstraints"] == [zone]  # the input is not changed

    def test_affinity_fallback_is_required_anti_affinity(self) -> None:
        merged = with_spread_values({"affinity": {"nodeAffinity": {"x": 1}}}, "affinity", LABELS)
        assert merged["affinity"]["nodeAffinity"] == {"x": 1}
        assert spreads_by_host(merged)
