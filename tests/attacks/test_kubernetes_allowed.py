"""The legitimate rows of the attack table: netguard's actuators, as the remediation identity, for real.

deploy/rbac/ applied (RBAC and the admission policy), kube-system at its seeded baseline before and
after each test: scaling through every owner and reverting, spreading and reverting, evicting a
CoreDNS replica, enabling and disabling NodeLocal DNSCache, each expected to be allowed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from netguard.dns import observe_cluster_dns
from netguard.remediate.actuators import (
    DeploymentScaleActuator,
    HpaActuator,
    NodeLocalDnsActuator,
    ProportionalAutoscalerActuator,
)
from netguard.remediate.actuators.errors import ActuatorRetryable
from netguard.remediate.actuators.models import ChangeResult
from netguard.remediate.actuators.spread import DeploymentSpreadOwner
from netguard_cli.localstack import cluster, seed
from tests.attacks.kube import (
    CORE,
    HPA,
    KS,
    LADDER,
    LADDER_CM,
    LINEAR,
    LINEAR_CM,
    attempt,
    configmap,
    pod_spec,
)
from tests.attacks.ledger import Row
from tests.integration.k8s.test_rbac import rbac_applied  # noqa: F401 -- a fixture
from tests.support.k8s import COREDNS, K8sCluster
from tests.support.placement import create_coredns_hpa

pytestmark = [pytest.mark.integration, pytest.mark.k8s]


@pytest.fixture
def baseline(rbac_applied: K8sCluster) -> Iterator[K8sCluster]:  # noqa: F811 -- the imported fixture
    rbac_applied.reset_dns()
    yield rbac_applied
    rbac_applied.reset_dns()


def _raise_and_revert(what: str, actuator: Any, target: int) -> list[Row]:
    """Two rows: raise the floor to `target`, then revert to what was recorded before."""
    recorded: list[ChangeResult] = []

    def raise_floor() -> None:
        result = actuator.raise_floor(target, dry_run=False)
        assert result.applied, result.description
        recorded.append(result)

    rows = [attempt(f"raise CoreDNS to {target} through {what}", "actuator", "allowed", raise_floor)]

    def revert() -> None:
        # The scale's resourceVersion moves while the Deployment rolls out the raise: a conflict is
        # ActuatorRetryable, which Lambda retries (up to twice more); so does this.
        for retries_left in (2, 1, 0):
            try:
                result = actuator.restore(recorded[0].before, dry_run=False)
            except ActuatorRetryable:
                if not retries_left:
                    raise
                time.sleep(1)
                continue
            assert result.applied, result.description
            return

    if recorded:
        rows.append(attempt(f"revert {what} to the recorded original", "actuator", "allowed", revert))
    return rows


def _assert_rows(rows: list[Row]) -> None:
    off = [f"{r.attempt}: got {r.got} {r.by}" for r in rows if not r.ok]
    assert off == []


def test_scale_through_the_deployment(baseline: K8sCluster) -> None:
    remediate = baseline.client("remediate")
    _assert_rows(
        _raise_and_revert("the scale subresource", DeploymentScaleActuator(remediate, namespace=KS), 3)
    )
    assert baseline.admin.get(f"{COREDNS}/scale")["spec"]["replicas"] == seed.COREDNS_REPLICAS


def test_scale_through_thehpa(baseline: K8sCluster) -> None:
    create_coredns_hpa(baseline.admin)
    actuator = HpaActuator(baseline.client("remediate"), namespace=KS, hpa="coredns")
    _assert_rows(_raise_and_revert("the HPA (minReplicas)", actuator, 4))
    assert baseline.admin.get(HPA)["spec"]["minReplicas"] == 2


@pytest.mark.parametrize(
    ("name", "mode", "params"), [(LINEAR_CM, "linear", LINEAR), (LADDER_CM, "ladder", LADDER)]
)
def test_scale_through_the_proportional_autoscaler(
    baseline: K8sCluster, name: str, mode: str, params: dict[str, Any]
) -> None:
    baseline.admin.create(f"{CORE}/configmaps", configmap(name, mode, params))
    actuator = ProportionalAutoscalerActuator(baseline.client("remediate"), namespace=KS, configmap=name)
    _assert_rows(_raise_and_revert(f"cluster-proportional-autoscaler ({mode})", actuator, 4))
    assert json.loads(baseline.admin.get(f"{CORE}/configmaps/{name}")["data"][mode]) == params


def test_spread_and_revert(baseline: K8sCluster) -> None:
    owner = DeploymentSpreadOwner(baseline.client("remediate"), namespace=KS, deployment="coredns")
    before: list[dict[str, Any]] = []

    def spread() -> None:
        changed, description, original = owner.make_durable(dry_run=False)
        assert changed, description
        before.append(original)

    rows = [attempt("spread CoreDNS: netguard's topologySpreadConstraint", "actuator", "allowed", spread)]
    if before:
        rows.append(
            attempt(
                "revert the spread", "actuator", "allowed", lambda: owner.restore(before[0], dry_run=False)
            )
        )
    _assert_rows(rows)
    assert "topologySpreadConstraints" not in pod_spec(baseline.admin.get(COREDNS))


def test_evict_a_coredns_replica(baseline: K8sCluster) -> None:
    """The request spread.py makes (policy/v1 Eviction), for one of CoreDNS's replicas."""
    remediate = baseline.client("remediate")
    (name, *_) = [p["metadata"]["name"] for p in cluster.ready_pods(baseline.admin, KS, "k8s-app=kube-dns")]
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": KS}}
    row = attempt(
        "evict a CoreDNS replica",
        "actuator",
        "allowed",
        lambda: remediate.call(remediate.core.create_namespaced_pod_eviction, name, KS, body),
    )
    _assert_rows([row])


def test_enable_and_disable_nodelocal_dnscache(baseline: K8sCluster) -> None:
    remediate = baseline.client("remediate")
    actuator = NodeLocalDnsActuator(remediate)
    dns = observe_cluster_dns(remediate)
    rows = [
        attempt(
            "enable NodeLocal DNSCache", "actuator", "allowed", lambda: actuator.enable(dns, dry_run=False)
        ),
        attempt(
            "enable NodeLocal DNSCache again (an update)",
            "actuator",
            "allowed",
            lambda: actuator.enable(dns, dry_run=False),
        ),
        attempt("disable NodeLocal DNSCache", "actuator", "allowed", lambda: actuator.disable(dry_run=False)),
    ]
    _assert_rows(rows)
    assert not actuator.is_enabled()
