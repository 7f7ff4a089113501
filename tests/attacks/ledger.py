"""The attack table: one row per attempt made as a netguard identity, printed at the end of the pytest run.

`kind` says how the attempt was made: `k8s` on the real API server as the remediation identity
(deploy/rbac/ applied), `actuator` through netguard's own actuators as that identity, `static` by
evaluating the rendered template's IAM, topic and key policies (moto does not enforce them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tests.support.ledger import Ledger

Verdict = Literal["denied", "allowed"]
Kind = Literal["k8s", "actuator", "static"]


@dataclass(frozen=True)
class Row:
    attempt: str
    kind: Kind
    expected: Verdict
    got: str
    """`denied`, `allowed`, or what else happened (an error that is neither)."""
    by: str = ""
    """Who decided: `policy` (the admission policy), `rbac`, or the AWS policy that did."""

    @property
    def ok(self) -> bool:
        return self.got == self.expected


def _cells(row: Row) -> list[str]:
    return [row.attempt, row.kind, row.expected, row.got, row.by]


LEDGER: Ledger[Row] = Ledger(
    ["attempt", "kind", "expected", "got", "by"],
    _cells,
    note=lambda row: "" if row.ok else f"<-- expected {row.expected}",
)
"""Session-wide: filled by tests/attacks, printed by its conftest's terminal summary hook."""
