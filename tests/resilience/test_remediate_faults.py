"""The remediate handler under Kubernetes 409, 5xx and timeouts (before the change, and after it with
the answer lost), on the local control plane as the `remediate` identity: CoreDNS is raised once,
whoever owns its replica count (Deployment, HPA, cluster-proportional-autoscaler, EKS add-on)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from netguard.enriched import ActionKind, Outcome
from netguard_cli.localstack import seed
from tests.integration.test_actuators import autoscaler_deployment
from tests.integration.test_remediate import KS, SCALE, Rig, rig  # noqa: F401 -- `rig` is a fixture
from tests.resilience.deliveries import LAMBDA_ATTEMPTS
from tests.resilience.faults import AwsFault, KubeFault, aws_faults, kube_faults
from tests.resilience.ledger import LEDGER, Row
from tests.support.eks_addons import EksAddonEndpoint
from tests.support.placement import HPAS, create_coredns_hpa

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

SCALE_PATH = SCALE.replace("/", r"\/") + "$"


def _deliver_with_retries(rig: Rig, event: Any) -> tuple[int, list[str]]:
    """Lambda's async retries of one SNS record: the same enriched event, up to three times."""
    errors: list[str] = []
    for attempt in range(1, LAMBDA_ATTEMPTS + 1):
        try:
            rig.deliver(event)
        except Exception as exc:  # noqa: BLE001 -- any escape is what Lambda would retry
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        return attempt, errors
    return LAMBDA_ATTEMPTS, errors


CASES = [
    # fault, method, status (0: timeout), times, after (the change reached the server first)
    ("Kubernetes 409 Conflict on the scale patch", "PATCH", 409, 1, False),
    ("Kubernetes 503 on the scale patch (x2)", "PATCH", 503, 2, False),
    ("Kubernetes 500 reading the scale", "GET", 500, 1, False),
    ("Kubernetes timeout before the patch", "PATCH", 0, 1, False),
    ("Kubernetes timeout after the patch applied", "PATCH", 0, 1, True),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_coredns_raised_exactly_once(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, case: tuple[str, str, int, int, bool]
) -> None:
    """Persistent drops on the CoreDNS nodes: whatever the API server did, 2 -> 4 once, one report.
    A cluster that cannot be read is not retried by Lambda but re-checked by a follow-up (kept)."""
    fault, method, status, times, after = case
    rig.configure(VERIFY_SECONDS="2")
    before = rig.replicas()
    assert before == 2
    event = rig.alert_event(*sorted(rig.coredns_nodes()))
    with kube_faults(monkeypatch, rig.world.cluster.server) as faults:
        injected = faults.add(method, SCALE_PATH, status, times=times, after=after)
        deliveries, errors = _deliver_with_retries(rig, event)
    assert injected.injected >= 1, "the fault never fired"
    kept = 0
    if rig.replicas() == before:  # nothing done yet: the follow-up queue must hold the check
        follow_ups = rig.receive_follow_ups(wait=5)
        kept = len(follow_ups)
        if follow_ups:
            rig.deliver_follow_ups(follow_ups)
            deliveries += 1
    replicas = rig.replicas()
    applied = [
        r for r in rig.reports() if r.action is ActionKind.SCALE_COREDNS and r.outcome is Outcome.APPLIED
    ]
    changes = 1 if replicas == 4 else 0 if replicas == before else 2
    row = LEDGER.add(
        Row(
            fault,
            deliveries,
            published=len({r.decision_id for r in applied}),
            slack_posts=None,
            pd_triggers=None,
            k8s_changes=changes,
            kept_failures=kept,
            lost=int(changes == 0),
            twice=max(0, changes - 1) + max(0, len(applied) - 1),
        )
    )
    assert replicas == 4, f"replicas {replicas} after {deliveries} deliveries; errors: {errors}"
    assert (row.lost, row.twice) == (0, 0), errors


@dataclass(frozen=True)
class Owner:
    """One owner of CoreDNS's replica count: how to set it up, read its floor, and where its write goes."""

    name: str
    setup: Callable[[Rig, EksAddonEndpoint], None]
    floor: Callable[[Rig, EksAddonEndpoint], int]
    path: str = ""
    """The Kubernetes path written (its answer is lost); "" for the EKS add-on (UpdateAddon)."""


CPA_CONFIGMAP = f"/api/v1/namespaces/{KS}/configmaps/dns-autoscaler"


def _cpa(rig: Rig, _addons: EksAddonEndpoint) -> None:
    rig.admin.create(
        f"/api/v1/namespaces/{KS}/configmaps",
        {
            "metadata": {"name": "dns-autoscaler", "namespace": KS},
            "data": {"linear": json.dumps({"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2})},
        },
    )
    rig.admin.create(f"/apis/apps/v1/namespaces/{KS}/deployments", autoscaler_deployment())


def _addon(rig: Rig, addons: EksAddonEndpoint) -> None:
    addons.add(seed.CLUSTER_NAME, values={"replicaCount": 2})
    addons.on_update = lambda _addon, values: rig.admin.patch(
        SCALE, {"spec": {"replicas": values["replicaCount"]}}, field_manager="eks"
    )


OWNERS = [
    Owner(
        "hpa",
        lambda rig, _a: create_coredns_hpa(rig.admin),
        lambda rig, _a: int(rig.admin.get(f"{HPAS}/coredns")["spec"]["minReplicas"]),
        path=r"/horizontalpodautoscalers/coredns$",
    ),
    Owner(
        "cluster-proportional-autoscaler",
        _cpa,
        lambda rig, _a: int(json.loads(rig.admin.get(CPA_CONFIGMAP)["data"]["linear"])["min"]),
        path=r"/configmaps/dns-autoscaler$",
    ),
    Owner("eks-addon", _addon, lambda _r, addons: int(addons.values(seed.CLUSTER_NAME)["replicaCount"])),
]


@pytest.mark.parametrize("owner", OWNERS, ids=[o.name for o in OWNERS])
def test_lost_answer_is_read_back_for_every_owner(
    rig: Rig, eks_addons: EksAddonEndpoint, monkeypatch: pytest.MonkeyPatch, owner: Owner
) -> None:
    """The owner's write reaches the server, its answer is lost (a timeout for Kubernetes, HTTP 500
    for UpdateAddon after the update was made): the actuator reads the value back, so Lambda's
    retries do not raise the floor a second step. 2 -> 4 once, one applied report."""
    owner.setup(rig, eks_addons)
    rig.configure(VERIFY_SECONDS="2")
    before = owner.floor(rig, eks_addons)
    assert before == 2
    event = rig.alert_event(*sorted(rig.coredns_nodes()))
    injected: KubeFault | AwsFault
    if owner.path:
        with kube_faults(monkeypatch, rig.world.cluster.server) as faults:
            injected = faults.add("PATCH", owner.path, 0, times=1, after=True)
            deliveries, errors = _deliver_with_retries(rig, event)
    else:
        with aws_faults(monkeypatch) as aws:
            injected = aws.add("eks", "UpdateAddon", "InternalFailure", 500, after=True)
            deliveries, errors = _deliver_with_retries(rig, event)
    assert injected.injected >= 1, "the fault never fired"
    floor = owner.floor(rig, eks_addons)
    applied = [
        r for r in rig.reports() if r.action is ActionKind.SCALE_COREDNS and r.outcome is Outcome.APPLIED
    ]
    changes = 1 if floor == 4 else 0 if floor == before else 2
    row = LEDGER.add(
        Row(
            f"{owner.name}: answer lost after the write applied",
            deliveries,
            published=len({r.decision_id for r in applied}),
            slack_posts=None,
            pd_triggers=None,
            k8s_changes=changes,
            kept_failures=0,
            lost=int(changes == 0),
            twice=max(0, changes - 1) + max(0, len(applied) - 1),
        )
    )
    assert floor == 4, f"{owner.name} floor {floor} after {deliveries} deliveries; errors: {errors}"
    assert (row.lost, row.twice, deliveries) == (0, 0, 1), errors
    assert applied[0].before["owner"] == owner.name
