"""Verification and bounded escalation: the history after a decision, and when to look again.

Pure functions of settings, the decision, what applying it did and the clock; called by
`service.RemediationService` under the cluster lock. The escalation is bounded twice: at most
`MAX_STEPS` applied changes per incident (then the policy gives up) and at most `MAX_VERIFICATIONS`
checks without a change (then it gives up too), each check `VERIFY_SECONDS` (or the cooldown) apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from netguard.config.remediate import Settings
from netguard.enriched import ActionKind, Outcome
from netguard.errors import RetryableError
from netguard.remediate import policy
from netguard.remediate.apply import Applied
from netguard.remediate.cluster import ClusterHandle
from netguard.remediate.models import (
    CHANGES,
    ActionRecord,
    Decision,
    DisableNodeLocal,
    DropStatus,
    EnableNodeLocal,
    Escalate,
    GiveUp,
    History,
    Observation,
    RevertCoreDns,
    RevertSpread,
    ScaleCoreDns,
    SpreadCoreDns,
)
from netguard.remediate.safety import Verdict

LOST_FOLLOW_UP_GRACE = 120.0
PENDING_SPREAD_SECONDS = 60
"""How soon a spread whose evictions wait (replicas not Ready, a PodDisruptionBudget) is looked at again."""
_STEPS = frozenset({ActionKind.SCALE_COREDNS, ActionKind.SPREAD_COREDNS, ActionKind.ENABLE_NODELOCAL})
"""Changes that count against MAX_STEPS (reverts do not: they end an incident, not escalate it)."""


def next_history(
    settings: Settings,
    history: History,
    decision: Decision,
    *,
    finishing: bool = False,
    applied: Applied,
    handle: ClusterHandle,
    observations: Sequence[Observation],
    trigger: str,
    decision_id: str,
    mode: str,
    now: float,
) -> History:
    statuses = {o.status for o in observations}
    resolved_at = history.resolved_at
    steps = history.steps
    if statuses & {DropStatus.PERSISTING, DropStatus.TRANSIENT}:
        resolved_at = None
    elif observations and statuses == {DropStatus.RECOVERED}:
        resolved_at = history.resolved_at if history.resolved_at is not None else now
        steps = 0  # the incident is over: a new one gets the full budget
    history = dataclasses.replace(history, resolved_at=resolved_at, steps=steps)

    acted = applied.outcome in (Outcome.APPLIED, Outcome.DRY_RUN) and decision.action in CHANGES
    if acted:
        done = applied.outcome is Outcome.APPLIED
        raised_to = decision.target if isinstance(decision, ScaleCoreDns | SpreadCoreDns) else None
        record = ActionRecord(
            action=decision.action,
            decision_id=decision_id,
            at=now,
            mode=mode,
            applied=done,
            drop_rate_before=policy.coredns_drop_rate(handle.state, observations),
            replicas_before=handle.state.coredns_current,
            replicas_after=raised_to,
        )
        original = history.original_coredns
        floor_set = history.floor_set_by_netguard
        original_spread = history.original_spread
        nodelocal_ours = history.nodelocal_enabled_by_netguard
        if (
            done
            and original is None
            and applied.result_before is not None
            and (
                isinstance(decision, ScaleCoreDns)
                or (isinstance(decision, SpreadCoreDns) and decision.target > decision.current)
            )
        ):
            original = applied.result_before
        elif done and isinstance(decision, RevertCoreDns):
            original, floor_set = None, None
        elif done and isinstance(decision, EnableNodeLocal):
            nodelocal_ours = True
        elif done and isinstance(decision, DisableNodeLocal):
            nodelocal_ours = False
        if done and isinstance(decision, SpreadCoreDns) and original_spread is None:
            original_spread = applied.spread_before
        elif done and isinstance(decision, RevertSpread):
            original_spread = None
        raised = isinstance(decision, ScaleCoreDns) or (
            isinstance(decision, SpreadCoreDns) and decision.target > decision.current
        )
        if done and raised and original is not None:
            floor_set = raised_to
        last_scale = record if done and raised else history.last_scale
        if finishing:
            # Finishing a decided spread is the same step: it neither counts nor restarts the checks.
            return dataclasses.replace(
                history,
                spread_pending=done and bool(applied.pending),
                verification_attempts=history.verification_attempts + 1,
            )
        # A dry-run changes nothing, so it does not restart the count of checks (the chain stays bounded).
        attempts = 0 if done else history.verification_attempts + (1 if trigger == "follow_up" else 0)
        return dataclasses.replace(
            history,
            last_action=record,
            last_scale=last_scale,
            cooldown_until=now + settings.cooldown_seconds,
            verification_attempts=attempts,
            original_coredns=original,
            floor_set_by_netguard=floor_set,
            original_spread=original_spread,
            nodelocal_enabled_by_netguard=nodelocal_ours,
            steps=history.steps + (1 if done and decision.action in _STEPS else 0),
            spread_pending=done and isinstance(decision, SpreadCoreDns) and bool(applied.pending),
        )
    if applied.foreign:
        # The floor is someone else's now: nothing of netguard's is left to revert.
        history = dataclasses.replace(history, original_coredns=None, floor_set_by_netguard=None)
    if applied.outcome is Outcome.FAILED and not isinstance(applied.error, RetryableError):
        history = dataclasses.replace(history, cooldown_until=now + settings.cooldown_seconds)
    if not isinstance(applied.error, RetryableError):
        # A spread that could evict nothing yet (PodDisruptionBudget, replicas not Ready) stays pending.
        waiting = isinstance(decision, SpreadCoreDns) and verdict_acted(applied) and bool(applied.pending)
        history = dataclasses.replace(history, spread_pending=waiting)
    if trigger == "follow_up":
        history = dataclasses.replace(history, verification_attempts=history.verification_attempts + 1)
    return history


def verdict_acted(applied: Applied) -> bool:
    """The actuator ran (whether or not it could change anything)."""
    return applied.outcome in (Outcome.APPLIED, Outcome.SKIPPED) and applied.error is None


def plan(
    settings: Settings,
    decision: Decision,
    applied: Applied,
    *,
    verdict: Verdict,
    observations: Sequence[Observation],
    history: History,
    trigger: str,
    now: float,
) -> tuple[float | None, str]:
    """When to look again (None: not at all) and the words for the report."""
    if trigger == "operator":
        return None, "operator command; automatic checks continue with the next alert"
    if applied.outcome is Outcome.FAILED:
        if isinstance(applied.error, RetryableError):
            return None, "failed; the delivery will be retried"
        return None, "failed; no further automatic steps"
    if isinstance(decision, GiveUp):
        return None, "gave up: no further automatic steps; on-call decides (see the reasons)"
    if isinstance(decision, Escalate):
        return None, "escalated to on-call; no further automatic steps"
    acted = applied.outcome in (Outcome.APPLIED, Outcome.DRY_RUN) and decision.action in CHANGES
    if history.spread_pending and history.verification_attempts < settings.max_verifications:
        due = now + min(settings.verify_seconds, PENDING_SPREAD_SECONDS)
        why = applied.pending or "evictions left"
        return due, f"spread pending ({why}); next check in {int(due - now)} s"
    if acted and decision.action in _STEPS:
        return now + settings.verify_seconds, f"verification in {settings.verify_seconds} s"
    active = [o for o in observations if o.status is not DropStatus.RECOVERED]
    pending = bool(history.follow_up_id) and now < history.follow_up_due + LOST_FOLLOW_UP_GRACE
    if active and not acted:
        if trigger == "alert" and pending:
            return None, f"next check already scheduled in {max(0, int(history.follow_up_due - now))} s"
        if history.verification_attempts >= settings.max_verifications:
            return None, f"stopped checking after {history.verification_attempts} checks; on-call decides"
        transient = [
            o.since + settings.persistence_seconds
            for o in active
            if o.status is DropStatus.TRANSIENT and o.since is not None
        ]
        if verdict.outcome is Outcome.SKIPPED and history.cooldown_until > now:
            due = history.cooldown_until
        elif transient and not any(o.status is DropStatus.PERSISTING for o in active):
            due = min(transient)
        else:
            due = now + settings.verify_seconds
        due = max(due, now + 5)
        return due, f"hold: next check in {int(due - now)} s"
    if not active:
        wanted = policy.revert_wanted(history, settings.policy)
        if wanted and history.resolved_at is not None:
            if trigger == "alert" and pending:
                return None, f"next check already scheduled in {max(0, int(history.follow_up_due - now))} s"
            due = max(
                history.resolved_at + settings.quiet_seconds_before_revert, history.cooldown_until, now + 5
            )
            return due, f"revert check of {wanted} in {int(due - now)} s"
        if trigger == "follow_up":
            return None, "verified: drops stopped; closed"
    return None, ""
