"""The attack table prints at the end of every run that collected tests/attacks (`make test` does)."""

from __future__ import annotations

import pytest

from tests.attacks.ledger import LEDGER


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not LEDGER.rows:
        return
    terminalreporter.section("attack table: what netguard's identities try, and what stops them")
    terminalreporter.write_line(LEDGER.table())
    off = [r.attempt for r in LEDGER.rows if not r.ok]
    denied = sum(1 for r in LEDGER.rows if r.expected == "denied")
    verdict = (
        f"{len(off)} row(s) off: {off}"
        if off
        else f"every row as expected: {denied} attempts denied, "
        f"{len(LEDGER.rows) - denied} legitimate actions allowed"
    )
    terminalreporter.write_line(verdict)
