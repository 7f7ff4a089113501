"""Every test here is marked `resilience` (and runs in every `pytest`); the table prints at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.resilience.ledger import LEDGER

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.resilience)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not LEDGER.rows:
        return
    terminalreporter.section("resilience: faults injected at the handlers' boundaries")
    terminalreporter.write_line(LEDGER.table())
    bad = [r.fault for r in LEDGER.rows if r.lost or r.twice]
    verdict = (
        f"{len(bad)} row(s) lost or duplicated something: {bad}" if bad else "every row: 0 lost, 0 twice"
    )
    terminalreporter.write_line(verdict)
