"""The resilience table: one row per injected fault, printed at the end of the pytest run."""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.ledger import Ledger


@dataclass
class Row:
    fault: str
    deliveries: int
    """Invocations of the handler(s), Lambda's retries included."""
    published: int | None
    """Enriched or remediation events published (distinct event ids); None: not on this row's path."""
    slack_posts: int | None
    pd_triggers: int | None
    k8s_changes: int | None
    kept_failures: int
    """Failure records or raw messages kept for an operator (failure destination, S3, DLQ)."""
    lost: int
    twice: int
    """Effects done more than once (a second Slack post, PagerDuty trigger or Kubernetes change)."""


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)


def _cells(row: Row) -> list[str]:
    return [
        row.fault,
        str(row.deliveries),
        _cell(row.published),
        _cell(row.slack_posts),
        _cell(row.pd_triggers),
        _cell(row.k8s_changes),
        str(row.kept_failures),
        str(row.lost),
        str(row.twice),
    ]


_COUNTS = ("deliveries", "published", "slack", "pd", "k8s", "kept", "lost", "twice")

LEDGER: Ledger[Row] = Ledger(["fault", *_COUNTS], _cells, right_aligned=_COUNTS)
"""Session-wide: filled by tests/resilience (each test asserts `lost == twice == 0` itself), printed by
its conftest's terminal summary hook."""
