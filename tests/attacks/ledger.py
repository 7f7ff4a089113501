"""The attack table: one row per attempt made as a netguard identity, printed at the end of the pytest run.

`kind` says how the attempt was made: `k8s` on the real API server as the remediation identity
(deploy/rbac/ applied), `actuator` through netguard's own actuators as that identity, `static` by
evaluating the rendered template's IAM, topic and key policies (moto does not enforce them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["denied", "allowed"]


@dataclass(frozen=True)
class Row:
    attempt: str
    kind: Literal["k8s", "actuator", "static"]
    expected: Verdict
    got: str
    """`denied`, `allowed`, or what else happened (an error that is neither)."""
    by: str = ""
    """Who decided: `policy` (the admission policy), `rbac`, or the AWS policy that did."""

    @property
    def ok(self) -> bool:
        return self.got == self.expected


@dataclass
class Ledger:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        """Keep the row for the table; the test asserts `row.ok` itself."""
        self.rows.append(row)
        return row

    def table(self) -> str:
        headers = ["attempt", "kind", "expected", "got", "by"]
        cells = [[r.attempt, r.kind, r.expected, r.got, r.by] for r in self.rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
        lines.append("-" * len(lines[0]))
        for row, c in zip(self.rows, cells, strict=True):
            line = "  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip()
            lines.append(line if row.ok else f"{line}   <-- expected {row.expected}")
        return "\n".join(lines)


LEDGER = Ledger()
"""Session-wide: filled by tests/attacks, printed by its conftest's terminal summary hook."""
