"""The one codec of remediation's stored history and reports, and the migration of older records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netguard.enriched import ActionKind, Outcome, RemediationReport, report_from_dict, report_to_dict
from netguard.remediate.codec import SCHEMA, history_from_dict, history_to_dict, migrate
from netguard.remediate.incident import Phase
from netguard.remediate.store import HistoryStore, cluster_pk
from netguard.state import MemoryStore

DATA = Path(__file__).parent / "data"


def _before_phase() -> dict[str, Any]:
    """A history as netguard stored it before the incident had a phase: captured from that version's
    `history_to_dict` (a CoreDNS raise being verified), not written by hand."""
    data: dict[str, Any] = json.loads((DATA / "history_before_phase.json").read_text(encoding="utf-8"))
    return data


class TestMigration:
    def test_record_written_before_phases_still_loads(self) -> None:
        """Every field of the old record survives, and the phase is read from what implied it."""
        old = _before_phase()
        assert "phase" not in old
        assert "schema" not in old
        history = history_from_dict("prod", old, version=7)
        assert history.phase is Phase.VERIFYING
        assert history.version == 7
        assert history.original_coredns == old["original_coredns"]
        assert history.floor_set_by_netguard == old["floor_set_by_netguard"]
        assert history.stale_events == old["stale_events"]
        assert set(history.seen) == set(old["seen"])
        assert history.last_scale is not None
        assert history.last_scale.replicas_after == 4
        again = history_to_dict(history)
        assert (again["schema"], again["phase"]) == (SCHEMA, "verifying")
        assert {k: v for k, v in again.items() if k not in ("schema", "phase")} == old

    def test_old_record_loads_through_the_store_and_is_saved_migrated(self) -> None:
        """The store reads an old item and writes it back in the current schema, version-checked."""
        store = MemoryStore()
        store.create(pk=cluster_pk("prod"), sk="remediation", data=_before_phase(), ttl_seconds=60)
        histories = HistoryStore(store)
        loaded = histories.load("prod")
        saved = histories.save(loaded)
        item = store.get(pk=cluster_pk("prod"), sk="remediation")
        assert item is not None
        assert item.data["schema"] == SCHEMA
        assert (saved.phase, saved.version) == (Phase.VERIFYING, loaded.version + 1)

    @pytest.mark.parametrize(
        ("change", "phase"),
        [
            ({"spread_pending": True}, Phase.SPREAD_PENDING),
            ({"verification_attempts": 2}, Phase.HOLDING),
            ({"follow_up_id": "", "nodes": {}, "resolved_at": 1.0, "last_action": None}, Phase.CLOSED),
            ({"nodes": {}, "resolved_at": 1.0}, Phase.REVERTING),
            (
                {
                    "follow_up_id": "",
                    "nodes": {},
                    "last_action": None,
                    "last_scale": None,
                    "original_coredns": None,
                },
                Phase.IDLE,
            ),
        ],
    )
    def test_phase_of_older_records(self, change: dict[str, Any], phase: Phase) -> None:
        """What an old record's fields imply: a pending spread, checks without a change, a resolve."""
        data = migrate({**_before_phase(), **change})
        assert data["phase"] == phase.value

    def test_current_records_are_left_alone(self) -> None:
        """A record already in the current schema keeps its stored phase."""
        data = {**_before_phase(), "schema": SCHEMA, "phase": "gave_up"}
        assert history_from_dict("prod", data, version=1).phase is Phase.GAVE_UP


class TestReports:
    def test_round_trip(self) -> None:
        """The report codec the topic, the audit trail and the CLI share keeps every field."""
        report = RemediationReport(
            decision_id="d1",
            cluster="prod",
            action=ActionKind.SCALE_COREDNS,
            outcome=Outcome.DRY_RUN,
            mode="dry-run",
            reasons=("why",),
            before={"replicas": 2},
            after={"replicas": 4},
            phase_before="holding",
            phase="verifying",
            tell=True,
            changed=True,
            summary="would change CoreDNS 2 → 4 replicas",
        )
        data = json.loads(json.dumps(report_to_dict(report)))
        assert (data["action"], data["outcome"]) == ("scale_coredns", "dry_run")
        assert report_from_dict(data) == report

    def test_report_from_an_older_sender_is_shown_as_before(self) -> None:
        """Without the phase fields (an older remediate during a deploy), a report is still told."""
        report = report_from_dict(
            {"decision_id": "d", "cluster": "c", "action": "none", "outcome": "skipped", "reasons": ["x"]}
        )
        assert (report.tell, report.changed, report.phase) == (True, True, "")
