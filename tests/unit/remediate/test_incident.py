"""The incident's transition table: every phase by every event, with and without a check scheduled
and with the check budget spent. Each row answers "in phase X, when Y happens, what does netguard do
and when does it look again?"."""

from __future__ import annotations

from pathlib import Path

import pytest

from netguard.remediate.incident import (
    ANY,
    Event,
    IncidentState,
    Look,
    Phase,
    Step,
    changed_cluster,
    diagram,
    edges,
    rows,
    tells,
    transition,
)

SAME = None
"""The phase does not move."""
Row = tuple[Phase | None, Look]
PLAIN, SCHEDULED, SPENT = "plain", "check scheduled", "checks spent"
ALL3 = (PLAIN, SCHEDULED, SPENT)


def _all(phase: Phase | None, look: Look) -> dict[str, Row]:
    return dict.fromkeys(ALL3, (phase, look))


# Written out by hand from the design (docs/remediation.md), not computed from `transition`.
EXPECTED: dict[Event, dict[str, Row]] = {
    Event.ALERT_STALE: _all(SAME, Look.KEEP),
    Event.ALERT_AMBIGUOUS: _all(SAME, Look.KEEP),
    Event.ALERT_NOT_OURS: _all(SAME, Look.KEEP),
    Event.ACTION_RETRY: _all(SAME, Look.RETRY),
    Event.OPERATOR_COMMAND: _all(SAME, Look.NONE),
    Event.ACTION_FAILED: _all(Phase.GAVE_UP, Look.NONE),
    Event.GIVE_UP: _all(Phase.GAVE_UP, Look.NONE),
    Event.ESCALATE: _all(Phase.ESCALATED, Look.NONE),
    Event.ACTION_REFUSED: _all(Phase.ESCALATED, Look.NONE),
    Event.ACTION_APPLIED: _all(Phase.VERIFYING, Look.VERIFY),
    Event.ACTION_DRY_RUN: _all(Phase.VERIFYING, Look.VERIFY),
    Event.REVERTED: _all(Phase.CLOSED, Look.NONE),
    Event.DROPS_STOPPED: _all(Phase.CLOSED, Look.NONE),
    Event.REVERT_DUE: {
        PLAIN: (Phase.REVERTING, Look.REVERT),
        SCHEDULED: (Phase.REVERTING, Look.KEEP),
        SPENT: (Phase.REVERTING, Look.REVERT),
    },
    Event.CLUSTER_UNREADABLE: {
        PLAIN: (SAME, Look.VERIFY),
        SCHEDULED: (SAME, Look.VERIFY),
        SPENT: (Phase.GAVE_UP, Look.NONE),
    },
    Event.SPREAD_WAITING: {
        PLAIN: (Phase.SPREAD_PENDING, Look.SOON),
        SCHEDULED: (Phase.SPREAD_PENDING, Look.SOON),
        SPENT: (Phase.GAVE_UP, Look.NONE),
    },
    Event.DROPS_TRANSIENT: {
        PLAIN: (Phase.WATCHING, Look.HOLD),
        SCHEDULED: (Phase.WATCHING, Look.KEEP),
        SPENT: (Phase.GAVE_UP, Look.NONE),
    },
    Event.DROPS_PERSIST: {
        PLAIN: (Phase.HOLDING, Look.HOLD),
        SCHEDULED: (Phase.HOLDING, Look.KEEP),
        SPENT: (Phase.GAVE_UP, Look.NONE),
    },
    Event.ACTION_SKIPPED: {
        PLAIN: (Phase.HOLDING, Look.HOLD),
        SCHEDULED: (Phase.HOLDING, Look.KEEP),
        SPENT: (Phase.GAVE_UP, Look.NONE),
    },
}
EXCEPTIONS: dict[tuple[Phase, Event], Phase] = {(Phase.IDLE, Event.DROPS_STOPPED): Phase.IDLE}
"""Rows where the phase matters: drops that stopped before any incident leave netguard idle."""


def _state(phase: Phase, condition: str) -> IncidentState:
    return IncidentState(
        phase=phase,
        checks=3 if condition == SPENT else 1,
        check_budget=3,
        check_scheduled=condition == SCHEDULED,
    )


class TestTransition:
    def test_every_event_has_expectations(self) -> None:
        """The expected table covers every event the service can produce."""
        assert set(EXPECTED) == set(Event)

    @pytest.mark.parametrize("condition", ALL3)
    @pytest.mark.parametrize("event", list(Event))
    @pytest.mark.parametrize("phase", list(Phase))
    def test_row(self, phase: Phase, event: Event, condition: str) -> None:
        """One row: the next phase and when netguard looks again."""
        want_phase, want_look = EXPECTED[event][condition]
        want = EXCEPTIONS.get((phase, event), phase if want_phase is SAME else want_phase)
        assert transition(_state(phase, condition), event) == Step(want, want_look)

    def test_budget_is_checked_only_against_the_limit(self) -> None:
        """One check left keeps looking; none left gives up (the budget is compared in one place)."""
        left = IncidentState(Phase.HOLDING, checks=2, check_budget=3)
        spent = IncidentState(Phase.HOLDING, checks=3, check_budget=3)
        assert transition(left, Event.DROPS_PERSIST) == Step(Phase.HOLDING, Look.HOLD)
        assert transition(spent, Event.DROPS_PERSIST) == Step(Phase.GAVE_UP, Look.NONE)
        assert transition(spent, Event.ACTION_APPLIED) == Step(Phase.VERIFYING, Look.VERIFY)

    def test_scheduled_check_wins_over_spent_budget(self) -> None:
        """An alert between checks never ends the chain: the scheduled check decides."""
        state = IncidentState(Phase.HOLDING, checks=3, check_budget=3, check_scheduled=True)
        assert transition(state, Event.DROPS_PERSIST) == Step(Phase.HOLDING, Look.KEEP)


class TestWhatPeopleSee:
    @pytest.mark.parametrize(
        ("before", "after", "event", "told"),
        [
            (Phase.IDLE, Phase.HOLDING, Event.DROPS_PERSIST, False),
            (Phase.HOLDING, Phase.CLOSED, Event.DROPS_STOPPED, False),
            (Phase.WATCHING, Phase.CLOSED, Event.DROPS_STOPPED, False),
            (Phase.HOLDING, Phase.HOLDING, Event.DROPS_PERSIST, False),
            (Phase.VERIFYING, Phase.VERIFYING, Event.DROPS_TRANSIENT, False),
            (Phase.IDLE, Phase.IDLE, Event.CLUSTER_UNREADABLE, True),
            (Phase.IDLE, Phase.VERIFYING, Event.ACTION_APPLIED, True),
            (Phase.VERIFYING, Phase.VERIFYING, Event.ACTION_APPLIED, True),
            (Phase.VERIFYING, Phase.VERIFYING, Event.ACTION_DRY_RUN, True),
            (Phase.VERIFYING, Phase.REVERTING, Event.REVERT_DUE, True),
            (Phase.VERIFYING, Phase.CLOSED, Event.DROPS_STOPPED, True),
            (Phase.REVERTING, Phase.CLOSED, Event.REVERTED, True),
            (Phase.HOLDING, Phase.ESCALATED, Event.ACTION_REFUSED, True),
            (Phase.HOLDING, Phase.GAVE_UP, Event.DROPS_PERSIST, True),
            (Phase.VERIFYING, Phase.HOLDING, Event.ACTION_SKIPPED, True),
        ],
    )
    def test_reply_only_when_the_phase_moves_where_netguard_acts(
        self, before: Phase, after: Phase, event: Event, told: bool
    ) -> None:
        """A thread reply per phase change that matters, or per change to the cluster; not per check."""
        assert tells(before, after, event) is told

    @pytest.mark.parametrize("event", list(Event))
    def test_change_events_only_for_changes(self, event: Event) -> None:
        """PagerDuty hears of a run only when the cluster changed (or would have, in dry-run)."""
        assert changed_cluster(event) is (
            event in {Event.ACTION_APPLIED, Event.ACTION_DRY_RUN, Event.REVERTED}
        )


class TestDiagram:
    def test_every_phase_change_is_drawn(self) -> None:
        """Each phase-changing row appears as an edge, from its phase or from "any phase"."""
        drawn = edges()
        for phase, event, _condition, step in rows():
            if step.phase is not phase:
                labels = drawn.get((phase.value, step.phase), []) + drawn.get((ANY, step.phase), [])
                assert any(label.split(" (")[0] == event.value for label in labels), (phase, event)

    def test_any_phase_edges_hold_for_every_phase(self) -> None:
        """An edge drawn from "any phase" is taken from every phase that is not already its target."""
        for (source, target), labels in edges().items():
            if source != ANY:
                continue
            for label in labels:
                event = Event(label.split(" (")[0])
                for phase in Phase:
                    if phase is not target:
                        condition = label[len(event.value) + 2 : -1] if "(" in label else "plain"
                        assert transition(_state(phase, condition), event).phase is target

    def test_docs_open_with_the_generated_diagram(self) -> None:
        """docs/remediation.md carries the diagram generated from the table; regenerate it with
        `python -m netguard.remediate.incident` when the table changes."""
        docs = (Path(__file__).parents[3] / "docs" / "remediation.md").read_text(encoding="utf-8")
        start = docs.index("```mermaid\n") + len("```mermaid\n")
        end = docs.index("\n```", start)
        assert docs[start:end] == diagram()
        assert docs.index("```mermaid") < docs.index("\n## ")
