"""Every test here is marked `resilience` (and runs in every `pytest`); the table prints at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.resilience.ledger import LEDGER, Row

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.resilience)


def _verdict(rows: list[Row]) -> str:
    bad = [r.fault for r in rows if r.lost or r.twice]
    return f"{len(bad)} row(s) lost or duplicated something: {bad}" if bad else "every row: 0 lost, 0 twice"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    LEDGER.summarize(terminalreporter, "resilience: faults injected at the handlers' boundaries", _verdict)
