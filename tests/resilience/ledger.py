"""The resilience table: one row per injected fault, printed at the end of the pytest run."""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass
class Ledger:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        """Keep the row for the table; the test asserts `lost == twice == 0` itself."""
        self.rows.append(row)
        return row

    def table(self) -> str:
        headers = ["fault", "deliveries", "published", "slack", "pd", "k8s", "kept", "lost", "twice"]
        cells = [
            [
                r.fault,
                str(r.deliveries),
                _cell(r.published),
                _cell(r.slack_posts),
                _cell(r.pd_triggers),
                _cell(r.k8s_changes),
                str(r.kept_failures),
                str(r.lost),
                str(r.twice),
            ]
            for r in self.rows
        ]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        line = "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
        out = [line, "-" * len(line)]
        for c in cells:
            out.append(
                "  ".join(
                    v.ljust(w) if i == 0 else v.rjust(w)
                    for i, (v, w) in enumerate(zip(c, widths, strict=True))
                )
            )
        return "\n".join(out)


LEDGER = Ledger()
"""Session-wide: filled by tests/resilience, printed by its conftest's terminal summary hook."""
