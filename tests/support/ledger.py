"""A session-wide table of rows that a suite's tests add and its conftest prints at the end of the run
(tests/attacks: one row per attempt; tests/resilience: one row per injected fault)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Generic, TypeVar

import pytest

Row = TypeVar("Row")


def text_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right_aligned: Collection[str] = (),
    notes: Sequence[str] = (),
) -> str:
    """Columns padded to their widest cell, two spaces apart, a dashed line under the headers. The
    columns named in `right_aligned` (counts) are aligned right, the others left; `notes`, one per row,
    are appended after the row where not empty."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    right = [h in right_aligned for h in headers]

    def line(cells: Sequence[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
        return "  ".join(padded).rstrip()

    header = line(headers)
    out = [header, "-" * len(header)]
    for index, cells in enumerate(rows):
        note = notes[index] if index < len(notes) else ""
        out.append(f"{line(cells)}   {note}" if note else line(cells))
    return "\n".join(out)


class Ledger(Generic[Row]):
    """The rows in the order the tests added them; how a row becomes cells is the suite's."""

    def __init__(
        self,
        headers: Sequence[str],
        cells: Callable[[Row], Sequence[str]],
        *,
        right_aligned: Collection[str] = (),
        note: Callable[[Row], str] = lambda _: "",
    ) -> None:
        self.rows: list[Row] = []
        self._headers = tuple(headers)
        self._cells = cells
        self._right_aligned = frozenset(right_aligned)
        self._note = note

    def add(self, row: Row) -> Row:
        """Keep the row for the table; the test asserts on the row itself."""
        self.rows.append(row)
        return row

    def table(self) -> str:
        return text_table(
            self._headers,
            [self._cells(r) for r in self.rows],
            right_aligned=self._right_aligned,
            notes=[self._note(r) for r in self.rows],
        )

    def summarize(
        self, reporter: pytest.TerminalReporter, title: str, verdict: Callable[[list[Row]], str]
    ) -> None:
        """The table under its own section of pytest's terminal summary, then one line of verdict;
        nothing when this run added no rows (the suite was not collected)."""
        if not self.rows:
            return
        reporter.section(title)
        reporter.write_line(self.table())
        reporter.write_line(verdict(self.rows))
