"""The remediate handler under Kubernetes 409, 5xx and timeouts (before the change, and after it with
the answer lost), on the local control plane as the `remediate` identity: CoreDNS is raised once."""

from __future__ import annotations

from typing import Any

import pytest

from netguard.enriched import ActionKind, Outcome
from tests.integration.test_remediate import SCALE, Rig, rig  # noqa: F401 -- `rig` is a fixture
from tests.resilience.deliveries import LAMBDA_ATTEMPTS
from tests.resilience.faults import kube_faults
from tests.resilience.ledger import LEDGER, Row

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
