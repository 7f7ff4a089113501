"""The remediation incident as a state machine: its phases, the events a run produces, and one table.

Pure. `service.RemediationService` turns each run into one `Event` (`verification.classify`), and
`transition` says the next `Phase` and when to look again; every rule about what comes next, the
check budget included, is a row of `TABLE` (docs/remediation.md draws it, and a test compares them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    """Where one cluster's incident stands (stored in `History.phase`)."""

    IDLE = "idle"
    """No incident: nothing seen, or nothing to do."""
    WATCHING = "watching"
    """Drops seen, not yet lasting the rule's `for:`: look again when they would."""
    HOLDING = "holding"
    """Drops persist but nothing may be done now (cooldown, mode off, no safe step): look again."""
    VERIFYING = "verifying"
    """A change was applied (or, in dry-run, would have been): check whether it helped."""
    SPREAD_PENDING = "spread_pending"
    """A spread's evictions wait (new replicas not Ready, a PodDisruptionBudget): finish it soon."""
    REVERTING = "reverting"
    """Drops stopped; netguard's changes are reverted once the quiet period has passed."""
    ESCALATED = "escalated"
    """Handed to people: nothing safe is left to do automatically (or the next step was refused)."""
    GAVE_UP = "gave_up"
    """A budget (steps or checks) is spent, or an action failed for good: on-call decides."""
    CLOSED = "closed"
    """Drops stopped and nothing of netguard's is left to revert."""


class Event(StrEnum):
    """What one run found or did: each alert, follow-up or operator command yields exactly one."""

    ALERT_STALE = "alert_stale"
    """Every alert of the delivery is older than what is known (a late redelivery)."""
    ALERT_AMBIGUOUS = "alert_ambiguous"
    """An alert of a remediation rule could not be read unambiguously."""
    ALERT_NOT_OURS = "alert_not_ours"
    """No alert of the delivery is of a remediation rule about the linklocal counter."""
    CLUSTER_UNREADABLE = "cluster_unreadable"
    DROPS_TRANSIENT = "drops_transient"
    """Drops, none lasting the rule's `for:` yet."""
    DROPS_PERSIST = "drops_persist"
    """Drops persist and the policy has no change to make."""
    ACTION_SKIPPED = "action_skipped"
    """The policy wanted a change; the cooldown or its mode (off) held it."""
    ACTION_APPLIED = "action_applied"
    ACTION_DRY_RUN = "action_dry_run"
    ACTION_REFUSED = "action_refused"
    """The next step is unsafe here (e.g. NodeLocal DNSCache under IPVS): escalated."""
    ACTION_FAILED = "action_failed"
    """The actuator failed for good (the delivery is not retried)."""
    ACTION_RETRY = "action_retry"
    """The actuator failed for now: Lambda retries the delivery."""
    SPREAD_WAITING = "spread_waiting"
    ESCALATE = "escalate"
    GIVE_UP = "give_up"
    """The policy's step budget is spent while drops persist."""
    DROPS_STOPPED = "drops_stopped"
    """No drops and nothing of netguard's to revert."""
    REVERT_DUE = "revert_due"
    """No drops, and netguard's changes are to be reverted after the quiet period."""
    REVERTED = "reverted"
    """netguard undid its change (automatically, or by an operator's `revert`)."""
    OPERATOR_COMMAND = "operator_command"
    """An operator's command ran (pause, resume, any other change by hand)."""


class Look(StrEnum):
    """When to look again after a run."""

    NONE = "none"
    """No further automatic check (the next alert starts again)."""
    KEEP = "keep"
    """A check is already scheduled: it stays the next one."""
    VERIFY = "verify"
    """`VERIFY_SECONDS` after the change."""
    SOON = "soon"
    """Shortly (`verification.PENDING_SPREAD_SECONDS`), to finish a spread."""
    HOLD = "hold"
    """When the cooldown ends, when transient drops would persist, else `VERIFY_SECONDS`."""
    REVERT = "revert"
    """When the quiet period after the drops stopped ends (and the cooldown)."""
    RETRY = "retry"
    """Lambda retries the same delivery."""


@dataclass(frozen=True)
class IncidentState:
    """What `transition` needs: the phase, the checks made and allowed, and whether one is scheduled."""

    phase: Phase = Phase.IDLE
    checks: int = 0
    """Follow-up checks since the last applied change (this run's included)."""
    check_budget: int = 3
    """`MAX_VERIFICATIONS`: checks without a change before netguard stops looking."""
    check_scheduled: bool = False
    """A follow-up other than this run is due (an alert arrived between checks)."""

    @property
    def checks_spent(self) -> bool:
        """The one place the check budget is compared."""
        return self.checks >= self.check_budget


@dataclass(frozen=True)
class Step:
    """The result of a transition: the next phase and when to look again."""

    phase: Phase
    look: Look


QUIET: frozenset[Phase] = frozenset({Phase.IDLE, Phase.WATCHING, Phase.HOLDING, Phase.CLOSED})
"""Phases in which netguard has done nothing people need to hear of."""

_UNCHANGED: frozenset[Event] = frozenset(
    {
        Event.ALERT_STALE,
        Event.ALERT_AMBIGUOUS,
        Event.ALERT_NOT_OURS,
        Event.ACTION_RETRY,
        Event.OPERATOR_COMMAND,
    }
)
"""Events that never move the phase."""
_CHANGES: frozenset[Event] = frozenset({Event.ACTION_APPLIED, Event.ACTION_DRY_RUN, Event.REVERTED})
"""Events where the cluster changed (or, in dry-run, would have)."""


def transition(state: IncidentState, event: Event) -> Step:
    """The next phase and when to look again: the whole of "what happens next"."""
    phase = state.phase
    if event in (Event.ALERT_STALE, Event.ALERT_AMBIGUOUS, Event.ALERT_NOT_OURS):
        return Step(phase, Look.KEEP)
    if event is Event.ACTION_RETRY:
        return Step(phase, Look.RETRY)
    if event is Event.OPERATOR_COMMAND:
        return Step(phase, Look.NONE)
    if event is Event.ACTION_FAILED or event is Event.GIVE_UP:
        return Step(Phase.GAVE_UP, Look.NONE)
    if event is Event.ESCALATE or event is Event.ACTION_REFUSED:
        return Step(Phase.ESCALATED, Look.NONE)
    if event in (Event.ACTION_APPLIED, Event.ACTION_DRY_RUN):
        return Step(Phase.VERIFYING, Look.VERIFY)
    if event is Event.REVERTED:
        return Step(Phase.CLOSED, Look.NONE)
    if event is Event.DROPS_STOPPED:
        return Step(Phase.IDLE if phase is Phase.IDLE else Phase.CLOSED, Look.NONE)
    if event is Event.REVERT_DUE:
        return Step(Phase.REVERTING, Look.KEEP if state.check_scheduled else Look.REVERT)
    # Drops go on and nothing was changed: keep looking while the check budget lasts.
    if event is Event.CLUSTER_UNREADABLE:
        return Step(Phase.GAVE_UP, Look.NONE) if state.checks_spent else Step(phase, Look.VERIFY)
    waiting = {
        Event.SPREAD_WAITING: Phase.SPREAD_PENDING,
        Event.DROPS_TRANSIENT: Phase.WATCHING,
        Event.DROPS_PERSIST: Phase.HOLDING,
        Event.ACTION_SKIPPED: Phase.HOLDING,
    }[event]
    if state.check_scheduled and event is not Event.SPREAD_WAITING:
        return Step(waiting, Look.KEEP)
    if state.checks_spent:
        return Step(Phase.GAVE_UP, Look.NONE)
    return Step(waiting, Look.SOON if event is Event.SPREAD_WAITING else Look.HOLD)


def changed_cluster(event: Event) -> bool:
    """The run changed the cluster (or would have, in dry-run): worth a PagerDuty change event."""
    return event in _CHANGES


def tells(before: Phase, after: Phase, event: Event) -> bool:
    """People hear of the run (a reply in the incident's thread): the cluster changed, netguard could
    not look at it, or the phase moved where netguard did or stopped doing something (not between
    quiet phases, not every check)."""
    if changed_cluster(event) or event is Event.CLUSTER_UNREADABLE:
        return True  # a change, or netguard cannot look: people must know (bounded by the checks)
    return before is not after and not (before in QUIET and after in QUIET)


# --- the table, for people -----------------------------------------------------------------------

TABLE_STATES: tuple[IncidentState, ...] = (
    IncidentState(),
    IncidentState(check_scheduled=True),
    IncidentState(checks=3, check_budget=3),
)
"""The kinds of state a row can differ by: plain, a check already scheduled, the check budget spent."""


def rows() -> Iterator[tuple[Phase, Event, str, Step]]:
    """Every (phase, event, condition) with its step; the condition names the `TABLE_STATES` entry."""
    names = ("", "check scheduled", "checks spent")
    for phase in Phase:
        for event in Event:
            seen: dict[Step, str] = {}
            for name, state in zip(names, TABLE_STATES, strict=True):
                step = transition(
                    IncidentState(phase, state.checks, state.check_budget, state.check_scheduled), event
                )
                if step not in seen:
                    seen[step] = name
            for step, name in seen.items():
                yield phase, event, name, step


ANY = "any"
"""The diagram's name for "from every phase" (rows that do not depend on the phase)."""


def edges() -> dict[tuple[str, Phase], list[str]]:
    """(source, target) -> labels of every phase change in `transition`; a change that every phase
    makes alike is drawn once from `ANY`; a check already scheduled is named only where it matters."""
    found: dict[tuple[str, Phase], list[str]] = {}
    by_event: dict[tuple[Event, str], dict[Phase, Phase]] = {}
    for phase, event, condition, step in rows():
        by_event.setdefault((event, condition), {})[phase] = step.phase
    for (event, condition), targets in by_event.items():
        label = event.value + (f" ({condition})" if condition else "")
        moves = {source: target for source, target in targets.items() if source is not target}
        if not moves:
            continue
        ends = set(moves.values())
        alike = len(ends) == 1 and all(p in ends for p in Phase if p not in moves)
        pairs = [(ANY, next(iter(ends)))] if alike and len(moves) > 1 else list(moves.items())
        for source, target in pairs:
            labels = found.setdefault((str(source), target), [])
            if condition == "check scheduled" and event.value in labels:
                continue  # the same move without a scheduled check says it already
            labels.append(label)
    return found


def diagram() -> str:
    """A Mermaid state diagram of the phase changes in `transition` (staying put is left out)."""
    lines = ["stateDiagram-v2", f"    [*] --> {Phase.IDLE.value}", f'    state "any phase" as {ANY}']
    for (source, target), labels in edges().items():
        lines.append(f"    {source} --> {target.value}: {', '.join(labels)}")
    return "\n".join(lines)


LOOK_WORDS: Mapping[Look, str] = {
    Look.NONE: "no further automatic checks",
    Look.KEEP: "the check already scheduled stays next",
    Look.VERIFY: "verify after VERIFY_SECONDS",
    Look.SOON: "look again soon (evictions left)",
    Look.HOLD: "look again when the cooldown ends / drops would persist / after VERIFY_SECONDS",
    Look.REVERT: "revert check after the quiet period",
    Look.RETRY: "Lambda retries the delivery",
}


if __name__ == "__main__":  # pragma: no cover - `python -m netguard.remediate.incident` prints the diagram
    print(diagram())
