"""Apply one decision through the cluster's actuators, under the safety verdict, and say what happened.

Called by `service.RemediationService` under the cluster lock. Actuator errors become a FAILED
outcome carrying the error (retryable or not); nothing here decides what happens next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netguard.enriched import ActionKind, Outcome
from netguard.errors import NetguardError, RetryableError
from netguard.remediate.actuators import ActuatorError, ChangeResult
from netguard.remediate.cluster import ClusterHandle
from netguard.remediate.models import (
    Decision,
    DisableNodeLocal,
    EnableNodeLocal,
    Escalate,
    GiveUp,
    RevertCoreDns,
    RevertSpread,
    ScaleCoreDns,
    SpreadCoreDns,
)
from netguard.remediate.safety import Verdict

_MODE_VARIABLE = {
    ActionKind.SCALE_COREDNS: "COREDNS_MODE",
    ActionKind.REVERT_COREDNS: "COREDNS_MODE",
    ActionKind.SPREAD_COREDNS: "SPREAD_MODE",
    ActionKind.REVERT_SPREAD: "SPREAD_MODE",
}


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    reasons: tuple[str, ...]
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    result_before: Mapping[str, Any] | None = None
    """The replica owner's values before a raise (recorded for revert)."""
    spread_before: Mapping[str, Any] | None = None
    """The pod-spec owner's spread values before the spread was made durable (recorded for revert)."""
    pending: str = ""
    """Why part of a spread is left for the next check (new replicas not Ready, a PDB said wait)."""
    error: NetguardError | None = None
    foreign: bool = False
    """A revert left the floor alone: it is no longer what netguard set (someone changed it since)."""


def apply_decision(decision: Decision, verdict: Verdict, handle: ClusterHandle) -> Applied:
    state = state_summary(handle)
    if not verdict.act:
        if verdict.outcome is not None:
            return Applied(verdict.outcome, (verdict.reason, *_would_have(decision)), state, state)
        if isinstance(decision, Escalate):
            outcome = Outcome.REFUSED if decision.refused is not None else Outcome.APPLIED
            return Applied(outcome, decision.reasons, state, state)
        if isinstance(decision, GiveUp):
            return Applied(Outcome.APPLIED, decision.reasons, state, state)
        return Applied(Outcome.SKIPPED, decision.reasons, state, state)
    if isinstance(decision, RevertCoreDns) and _changed_since(decision, handle):
        floor = handle.state.replica_floor
        return Applied(
            Outcome.SKIPPED,
            (
                f"left as is: CoreDNS's replica floor ({handle.state.replica_owner}) is {floor}, not the"
                f" {decision.expected_floor} netguard set: changed since by someone else",
                *decision.reasons,
            ),
            state,
            state,
            foreign=True,
        )
    try:
        if isinstance(decision, SpreadCoreDns):
            return _spread(decision, verdict, handle)
        if isinstance(decision, ScaleCoreDns):
            result = handle.coredns.raise_floor(decision.target, dry_run=verdict.dry_run)
        elif isinstance(decision, RevertCoreDns):
            result = handle.coredns.restore(decision.original, dry_run=verdict.dry_run)
        elif isinstance(decision, RevertSpread):
            result = _spreader(handle).restore(decision.original, dry_run=verdict.dry_run)
        elif isinstance(decision, EnableNodeLocal):
            result = handle.nodelocal.enable(handle.dns, dry_run=verdict.dry_run)
        elif isinstance(decision, DisableNodeLocal):
            result = handle.nodelocal.disable(dry_run=verdict.dry_run)
        else:  # pragma: no cover - CHANGES lists exactly the actions above
            raise AssertionError(f"no actuator for {decision.action}")
    except NetguardError as exc:
        return _failed(decision, exc, state)
    return _from_result(decision, verdict, result)


def _changed_since(decision: RevertCoreDns, handle: ClusterHandle) -> bool:
    """Whether the floor is no longer what netguard set: then it is someone else's, and stays."""
    return decision.expected_floor is not None and handle.state.replica_floor != decision.expected_floor


def _spread(decision: SpreadCoreDns, verdict: Verdict, handle: ClusterHandle) -> Applied:
    """Raise first (when the decision asks for more replicas), then spread: the evictions wait for
    the new replicas to be Ready, so a raise and a spread in one decision never lower capacity."""
    state = state_summary(handle)
    spreader = _spreader(handle)
    raised: ChangeResult | None = None
    try:
        if decision.target > decision.current:
            raised = handle.coredns.raise_floor(decision.target, dry_run=verdict.dry_run)
        result = spreader.spread(decision.per_node, desired=decision.target, dry_run=verdict.dry_run)
    except NetguardError as exc:
        # A raise that went through stands (and is recorded for revert); the spread is retried.
        return _failed(decision, exc, state, raised=raised)
    words = [r.description for r in (raised, result) if r is not None]
    before = {"coredns": dict(raised.before) if raised else None, "spread": dict(result.before)}
    after = {"coredns": dict(raised.after) if raised else None, "spread": dict(result.after)}
    merged = ChangeResult(
        applied=result.applied or (raised is not None and raised.applied),
        dry_run=verdict.dry_run,
        before=before,
        after=after,
        description="; ".join(words),
    )
    applied = _from_result(decision, verdict, merged)
    durable = bool(result.after.get("durable")) and result.applied
    return Applied(
        applied.outcome,
        applied.reasons,
        applied.before,
        applied.after,
        result_before=dict(raised.before) if raised is not None and raised.applied else None,
        spread_before=dict(result.before.get("original") or {}) if durable else None,
        pending=str(result.after.get("pending") or ""),
    )


def _spreader(handle: ClusterHandle) -> Any:
    if handle.spread is None:
        raise ActuatorError("no actuator can spread CoreDNS replicas on this cluster")
    return handle.spread


def _failed(
    decision: Decision, exc: NetguardError, state: Mapping[str, Any], *, raised: ChangeResult | None = None
) -> Applied:
    retry = "; Lambda will retry" if isinstance(exc, RetryableError) else "; handing over to on-call"
    done = (f"before that: {raised.description}",) if raised is not None and raised.applied else ()
    return Applied(
        Outcome.FAILED,
        (f"{decision.action.value} failed: {exc}{retry}", *done, *decision.reasons),
        state,
        state,
        result_before=dict(raised.before) if raised is not None and raised.applied else None,
        error=exc,
    )


def _from_result(decision: Decision, verdict: Verdict, result: ChangeResult) -> Applied:
    before, after = dict(result.before), dict(result.after)
    if verdict.dry_run:
        variable = _MODE_VARIABLE.get(decision.action, "NODELOCAL_MODE")
        return Applied(
            Outcome.DRY_RUN,
            (f"dry-run ({variable}=dry-run), nothing changed: {result.description}", *decision.reasons),
            before,
            after,
            before,
        )
    if not result.applied:
        return Applied(
            Outcome.SKIPPED,
            (f"nothing to change: {result.description}", *decision.reasons),
            before,
            after,
            before,
        )
    return Applied(Outcome.APPLIED, (result.description, *decision.reasons), before, after, before)


def _would_have(decision: Decision) -> tuple[str, ...]:
    if not decision.reasons:
        return ()
    return (f"would have: {decision.reasons[0]}", *decision.reasons[1:])


def state_summary(handle: ClusterHandle) -> dict[str, Any]:
    state = handle.state
    return {
        "coredns_replicas": state.coredns_current,
        "replica_owner": state.replica_owner,
        "replica_floor": state.replica_floor,
        "coredns_ready": state.coredns_ready,
        "coredns_distinct_nodes": state.coredns_distinct_nodes,
        "coredns_pods_by_node": dict(state.coredns_pods_by_node),
        "nodelocal_enabled": state.nodelocal_enabled,
        "kube_proxy_mode": state.kube_proxy_mode,
    }
