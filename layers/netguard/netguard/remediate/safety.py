"""The pure safety rules of a change: which mode applies, and whether a decision may run now.

Called by `service.RemediationService` under the cluster lock. Modes (`enforce` / `dry-run` / `off`)
and the cooldown gate only changes; the kill switch (`killswitch`), the lock and history (`store`) and
the audit trail (`audit`) are adapters of their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from netguard.config.remediate import Mode
from netguard.enriched.models import ActionKind, Outcome
from netguard.remediate.models import CHANGES, Decision, History


@dataclass(frozen=True)
class Verdict:
    """Whether a decision may run now, and how."""

    act: bool
    """True: call the actuator (with `dry_run`)."""
    dry_run: bool
    mode: str
    outcome: Outcome | None = None
    """Set when the verdict already settles the outcome (skipped)."""
    reason: str = ""


def mode_for(
    action: ActionKind, *, coredns: Mode, nodelocal: Mode, spread: Mode = Mode.ENFORCE
) -> Mode | None:
    if action in (ActionKind.SCALE_COREDNS, ActionKind.REVERT_COREDNS):
        return coredns
    if action in (ActionKind.SPREAD_COREDNS, ActionKind.REVERT_SPREAD):
        return spread
    if action in (ActionKind.ENABLE_NODELOCAL, ActionKind.DISABLE_NODELOCAL):
        return nodelocal
    return None


_STRICTNESS = {Mode.ENFORCE: 0, Mode.DRY_RUN: 1, Mode.OFF: 2}


def strictest(*modes: Mode) -> Mode:
    """The most cautious of several modes (off, then dry-run, then enforce): an action that also does
    another action's work (a spread that raises the replica floor) honours both actions' modes."""
    return max(modes, key=_STRICTNESS.__getitem__)


def check(
    decision: Decision, *, mode: Mode | None, history: History, now: float, ignore_cooldown: bool = False
) -> Verdict:
    """The safety verdict for a decision; only changes are subject to modes and the cooldown."""
    if decision.action not in CHANGES or mode is None:
        return Verdict(act=False, dry_run=False, mode="")
    if mode is Mode.OFF:
        return Verdict(
            act=False,
            dry_run=False,
            mode=mode.value,
            outcome=Outcome.SKIPPED,
            reason=f"mode for {decision.action.value} is off: nothing done",
        )
    if not ignore_cooldown and history.cooldown_until > now:
        last = history.last_action
        what = f" after {last.action.value} ({last.decision_id})" if last else ""
        return Verdict(
            act=False,
            dry_run=False,
            mode=mode.value,
            outcome=Outcome.SKIPPED,
            reason=f"cooldown{what} until {_iso(history.cooldown_until)}"
            f" ({int(history.cooldown_until - now)} s left): nothing changed",
        )
    return Verdict(act=True, dry_run=mode is Mode.DRY_RUN, mode=mode.value)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
