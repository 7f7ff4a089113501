"""The attack table prints at the end of every run that collected tests/attacks (`make test` does)."""

from __future__ import annotations

import pytest

from tests.attacks.ledger import LEDGER, Row


def _verdict(rows: list[Row]) -> str:
    off = [r.attempt for r in rows if not r.ok]
    if off:
        return f"{len(off)} row(s) off: {off}"
    denied = sum(1 for r in rows if r.expected == "denied")
    return f"every row as expected: {denied} attempts denied, {len(rows) - denied} legitimate actions allowed"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    LEDGER.summarize(
        terminalreporter, "attack table: what netguard's identities try, and what stops them", _verdict
    )
