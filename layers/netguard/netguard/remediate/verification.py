"""Verification: the history after a decision, the run's one `incident.Event`, and when to look again.

Pure functions of settings, the decision, what applying it did and the clock; called by
`service.RemediationService` under the cluster lock. What comes next is `incident.transition`'s
(budgets included); this module classifies the run and turns the transition's `Look` into a due
time and plain words. The step budget (`MAX_STEPS`) is the policy's `GiveUp` decision.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from netguard.config.remediate import Settings
from netguard.enriched import ActionKind, Outcome
from netguard.errors import RetryableError
from netguard.remediate import policy
from netguard.remediate.apply import Applied
from netguard.remediate.cluster import ClusterHandle
from netguard.remediate.incident import (
    Event,
    IncidentState,
    Look,
    Phase,
    changed_cluster,
    tells,
    transition,
)
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
    Trigger,
)
from netguard.remediate.safety import Verdict

LOST_FOLLOW_UP_GRACE = 120.0
PENDING_SPREAD_SECONDS = 60
"""How soon a spread whose evictions wait (replicas not Ready, a PodDisruptionBudget) is looked at again."""
_STEPS = frozenset({ActionKind.SCALE_COREDNS, ActionKind.SPREAD_COREDNS, ActionKind.ENABLE_NODELOCAL})
_REVERTS = frozenset({ActionKind.REVERT_COREDNS, ActionKind.REVERT_SPREAD, ActionKind.DISABLE_NODELOCAL})
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
    trigger: Trigger,
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
        attempts = 0 if done else history.verification_attempts + (1 if trigger is Trigger.FOLLOW_UP else 0)
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
    if trigger is Trigger.FOLLOW_UP:
        history = dataclasses.replace(history, verification_attempts=history.verification_attempts + 1)
    return history


def verdict_acted(applied: Applied) -> bool:
    """The actuator ran (whether or not it could change anything)."""
    return applied.outcome in (Outcome.APPLIED, Outcome.SKIPPED) and applied.error is None


@dataclass(frozen=True)
class Plan:
    """What comes after a run: the event it was, the incident's next phase, and when to look again."""

    event: Event
    before: Phase
    phase: Phase
    look: Look
    due: float | None
    """Epoch seconds of the next check; None: no new one is scheduled."""
    words: str
    """The report's "next" line."""

    @property
    def changed_cluster(self) -> bool:
        return changed_cluster(self.event)

    @property
    def tells(self) -> bool:
        return tells(self.before, self.phase, self.event)


def classify(
    decision: Decision,
    applied: Applied,
    *,
    verdict: Verdict,
    observations: Sequence[Observation],
    history: History,
    trigger: Trigger,
    settings: Settings,
) -> Event:
    """The one event a run was (its decision, what applying it did, and what the gate saw)."""
    if trigger is Trigger.OPERATOR:
        reverted = applied.outcome is Outcome.APPLIED and decision.action in _REVERTS
        return Event.REVERTED if reverted and not history.changed_anything else Event.OPERATOR_COMMAND
    if applied.outcome is Outcome.FAILED:
        return Event.ACTION_RETRY if isinstance(applied.error, RetryableError) else Event.ACTION_FAILED
    if isinstance(decision, GiveUp):
        return Event.GIVE_UP
    if isinstance(decision, Escalate):
        return Event.ACTION_REFUSED if decision.refused is not None else Event.ESCALATE
    acted = applied.outcome in (Outcome.APPLIED, Outcome.DRY_RUN) and decision.action in CHANGES
    if history.spread_pending:
        return Event.SPREAD_WAITING
    if acted and decision.action in _STEPS:
        return Event.ACTION_APPLIED if applied.outcome is Outcome.APPLIED else Event.ACTION_DRY_RUN
    active = [o for o in observations if o.status is not DropStatus.RECOVERED]
    if active and not acted:
        if verdict.outcome is Outcome.SKIPPED:
            return Event.ACTION_SKIPPED
        if any(o.status is DropStatus.PERSISTING for o in active) or not any(
            o.status is DropStatus.TRANSIENT and o.since is not None for o in active
        ):
            return Event.DROPS_PERSIST
        return Event.DROPS_TRANSIENT
    if not active and policy.revert_wanted(history, settings.policy) and history.resolved_at is not None:
        return Event.REVERT_DUE
    if acted:
        return Event.REVERTED
    return Event.DROPS_STOPPED


def plan(
    settings: Settings,
    decision: Decision,
    applied: Applied,
    *,
    verdict: Verdict,
    observations: Sequence[Observation],
    history: History,
    trigger: Trigger,
    now: float,
) -> Plan:
    """The run's event through `incident.transition`, with the time of the next check and its words."""
    event = classify(
        decision,
        applied,
        verdict=verdict,
        observations=observations,
        history=history,
        trigger=trigger,
        settings=settings,
    )
    return after(
        settings,
        history,
        event,
        trigger=trigger,
        now=now,
        verdict=verdict,
        observations=observations,
        pending=applied.pending,
    )


def after(
    settings: Settings,
    history: History,
    event: Event,
    *,
    trigger: Trigger,
    now: float,
    verdict: Verdict | None = None,
    observations: Sequence[Observation] = (),
    pending: str = "",
) -> Plan:
    """`transition` from the stored phase, and the due time and words of the look it asks for."""
    # A follow-up run is the scheduled check itself; an alert between checks leaves it scheduled.
    scheduled = (
        trigger is not Trigger.FOLLOW_UP
        and bool(history.follow_up_id)
        and now < history.follow_up_due + LOST_FOLLOW_UP_GRACE
    )
    state = IncidentState(
        phase=history.phase,
        checks=history.verification_attempts,
        check_budget=settings.max_verifications,
        check_scheduled=scheduled,
    )
    step = transition(state, event)
    due, words = _when(
        settings,
        history,
        event,
        step.look,
        trigger=trigger,
        now=now,
        verdict=verdict,
        observations=observations,
        pending=pending,
    )
    return Plan(event, history.phase, step.phase, step.look, due, words)


def _when(
    settings: Settings,
    history: History,
    event: Event,
    look: Look,
    *,
    trigger: Trigger,
    now: float,
    verdict: Verdict | None,
    observations: Sequence[Observation],
    pending: str,
) -> tuple[float | None, str]:
    """The due time a `Look` means here, and the plain words for the report."""
    if look is Look.RETRY:
        return None, "failed; the delivery will be retried"
    if look is Look.KEEP:
        if event in (Event.ALERT_STALE, Event.ALERT_AMBIGUOUS, Event.ALERT_NOT_OURS):
            return None, ""
        return None, f"next check already scheduled in {max(0, int(history.follow_up_due - now))} s"
    if look is Look.VERIFY:
        due = now + settings.verify_seconds
        if event is Event.CLUSTER_UNREADABLE:
            return due, f"hold: next check in {settings.verify_seconds} s"
        return due, f"verification in {settings.verify_seconds} s"
    if look is Look.SOON:
        due = now + min(settings.verify_seconds, PENDING_SPREAD_SECONDS)
        return due, f"spread pending ({pending or 'evictions left'}); next check in {int(due - now)} s"
    if look is Look.HOLD:
        active = [o for o in observations if o.status is not DropStatus.RECOVERED]
        transient = [
            o.since + settings.persistence_seconds
            for o in active
            if o.status is DropStatus.TRANSIENT and o.since is not None
        ]
        skipped = verdict is not None and verdict.outcome is Outcome.SKIPPED
        if skipped and history.cooldown_until > now:
            due = history.cooldown_until
        elif transient and not any(o.status is DropStatus.PERSISTING for o in active):
            due = min(transient)
        else:
            due = now + settings.verify_seconds
        due = max(due, now + 5)
        return due, f"hold: next check in {int(due - now)} s"
    if look is Look.REVERT:
        wanted = policy.revert_wanted(history, settings.policy)
        resolved_at = history.resolved_at if history.resolved_at is not None else now
        due = max(resolved_at + settings.quiet_seconds_before_revert, history.cooldown_until, now + 5)
        return due, f"revert check of {wanted} in {int(due - now)} s"
    return None, _FINAL_WORDS.get(event) or _final_words(history, event, trigger)


_FINAL_WORDS = {
    Event.OPERATOR_COMMAND: "operator command; automatic checks continue with the next alert",
    Event.ACTION_FAILED: "failed; no further automatic steps",
    Event.GIVE_UP: "gave up: no further automatic steps; on-call decides (see the reasons)",
    Event.ESCALATE: "escalated to on-call; no further automatic steps",
    Event.ACTION_REFUSED: "escalated to on-call; no further automatic steps",
    Event.CLUSTER_UNREADABLE: "no further automatic checks",
}


def _final_words(history: History, event: Event, trigger: Trigger) -> str:
    if event in (Event.DROPS_STOPPED, Event.REVERTED):
        return "verified: drops stopped; closed" if trigger is Trigger.FOLLOW_UP else ""
    if trigger is Trigger.OPERATOR:
        return _FINAL_WORDS[Event.OPERATOR_COMMAND]
    return f"stopped checking after {history.verification_attempts} checks; on-call decides"
