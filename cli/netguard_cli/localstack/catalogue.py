"""The named scenarios `netguard demo --scenario NAME` plays and tests/e2e asserts: pure data.

Each says where CoreDNS starts (named kwok nodes, placed explicitly, never left to the scheduler),
how much DNS load there is and where it lands, who owns CoreDNS's replica count, the remediation
modes, and the outcome that must be reached within its timeout. `scenario.run_named` plays one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from netguard_cli.localstack.seed import plan_nodes

NODES = tuple(plan.name for plan in plan_nodes(6))
"""The local stack's kwok nodes, in seeding order (names are deterministic)."""


class Owner(StrEnum):
    DEPLOYMENT = "deployment"
    CPA = "cluster-proportional-autoscaler"
    ADDON = "eks-addon"


class Expect(StrEnum):
    DROPS_STOP = "drops stop"
    """Remediation changes the cluster and every node ends under the link-local allowance."""
    DIAGNOSIS_ONLY = "diagnosis, no change"
    """The enriched event names the bypass pods; nothing in the cluster changes."""
    REPORTS_ONLY = "dry-run reports, no change"
    """Remediation reports what it would do (dry-run); nothing in the cluster changes."""


@dataclass(frozen=True)
class BypassPod:
    """A pod that sends its own DNS queries to the VPC resolver (hostNetwork or dnsPolicy Default)."""

    name: str
    node: str
    qps: float
    host_network: bool = True


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    description: str
    coredns: tuple[str, ...]
    """Node of each CoreDNS pod at the start (a node twice: two pods there)."""
    queries_pps: float
    """Queries/s pods send through cluster DNS to the VPC resolver (split over CoreDNS pods)."""
    expect: Expect
    hot_node: str
    """The node whose drops the scenario is about."""
    bypass: tuple[BypassPod, ...] = ()
    owner: Owner = Owner.DEPLOYMENT
    modes: Mapping[str, str] = field(default_factory=dict)
    """Environment of the remediate function for this scenario (per-action modes)."""
    timeout: float = 240.0
    """Seconds from the start of the load to the expected outcome."""

    def load_text(self) -> str:
        where = ", ".join(f"{p.name} on {p.node} ({p.qps:.0f}/s)" for p in self.bypass)
        return f"{self.queries_pps:.0f} queries/s through CoreDNS" + (f"; bypass: {where}" if where else "")


_DRY_RUN = {"COREDNS_MODE": "dry-run", "NODELOCAL_MODE": "dry-run", "SPREAD_MODE": "dry-run"}
"""Every action in dry-run (SPREAD_MODE: the spreading action's mode, where the product has one)."""

SCENARIOS: tuple[ScenarioSpec, ...] = (
    ScenarioSpec(
        "spread",
        "CoreDNS on two nodes, drops on one: its replica's share of the forwarding plus a host agent's"
        " own queries go over the 1024 pkt/s allowance there; one more replica shrinks every share and"
        " the drops stop",
        coredns=(NODES[0], NODES[1]),
        queries_pps=1600.0,
        expect=Expect.DROPS_STOP,
        hot_node=NODES[0],
        # Why the load is uneven on a real cluster too: node agents on host networking (log shippers,
        # security agents) resolve through the VPC resolver from their node, beside CoreDNS's share.
        bypass=(BypassPod("node-agent", NODES[0], 400.0, host_network=True),),
        timeout=200.0,
    ),
    ScenarioSpec(
        "colocated",
        "both CoreDNS pods on one node (anti-affinity is only preferred): more replicas alone leave two "
        "on the hot node, so remediation must scale and spread; drops stop on the node that was hot",
        coredns=(NODES[0], NODES[0]),
        queries_pps=3600.0,
        expect=Expect.DROPS_STOP,
        hot_node=NODES[0],
        timeout=300.0,
    ),
    ScenarioSpec(
        "heavy",
        "more load than any replica count within the maximum (6) can carry under the allowance: "
        "NodeLocal DNSCache (enforce here) answers most queries on each node, drops stop",
        coredns=(NODES[0], NODES[1]),
        queries_pps=9000.0,
        expect=Expect.DROPS_STOP,
        hot_node=NODES[0],
        modes={"NODELOCAL_MODE": "enforce"},
        timeout=300.0,
    ),
    ScenarioSpec(
        "bypass",
        "drops on a node without CoreDNS, from pods that query the VPC resolver themselves "
        "(hostNetwork, dnsPolicy Default): the diagnosis names them and nothing is changed",
        coredns=(NODES[0], NODES[1]),
        queries_pps=1000.0,
        expect=Expect.DIAGNOSIS_ONLY,
        hot_node=NODES[4],
        bypass=(
            BypassPod("node-agent", NODES[4], 900.0, host_network=True),
            BypassPod("legacy-resolver", NODES[4], 600.0, host_network=False),
        ),
        timeout=150.0,
    ),
    ScenarioSpec(
        "dry-run",
        "the colocated case with every action in dry-run: remediation reports what it would do, "
        "the cluster is left as it was (and the drops go on)",
        coredns=(NODES[0], NODES[0]),
        queries_pps=3600.0,
        expect=Expect.REPORTS_ONLY,
        hot_node=NODES[0],
        modes=_DRY_RUN,
        timeout=150.0,
    ),
    ScenarioSpec(
        "cpa",
        "CoreDNS's replica count owned by cluster-proportional-autoscaler (emulated, reconciling every 2 s): "
        "the raise goes through its ConfigMap and survives its next reconcile",
        coredns=(NODES[0], NODES[1]),
        queries_pps=2400.0,
        expect=Expect.DROPS_STOP,
        hot_node=NODES[0],
        owner=Owner.CPA,
        timeout=200.0,
    ),
    ScenarioSpec(
        "addon",
        "CoreDNS as the EKS managed add-on (emulated, re-applying its replicaCount every 2 s): the raise "
        "goes through UpdateAddon and survives the add-on's next reconcile",
        coredns=(NODES[0], NODES[1]),
        queries_pps=2400.0,
        expect=Expect.DROPS_STOP,
        hot_node=NODES[0],
        owner=Owner.ADDON,
        timeout=200.0,
    ),
)

BY_NAME: Mapping[str, ScenarioSpec] = {s.name: s for s in SCENARIOS}


def find(name: str) -> ScenarioSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no scenario {name!r}; known: {', '.join(BY_NAME)}") from None
