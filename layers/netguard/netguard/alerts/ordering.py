"""Ordering alerts by their own times (`startsAt` / `endsAt`), never by when a message arrived.

Called by the notifiers' ledgers (Slack, PagerDuty) and by remediation's node memory. SNS redelivers
and Lambda retries asynchronous invocations, so a firing can arrive after its own resolve; per alert
(fingerprint) the newest state by the alert's times wins, and an older one is stale. Pure functions
over plain data; the callers store the `Seen` map next to their own ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netguard.alerts.models import Alert, Status

SEEN_LIMIT = 500
"""Alerts remembered per ledger: bounds one state-table item in an alert storm (older ones are
forgotten first, and a forgotten alert is ordered by arrival again, as an alert without times is)."""


@dataclass(frozen=True)
class Seen:
    """The newest state known of one alert."""

    resolved: bool
    starts_at: float
    """Epoch seconds of the alert's `startsAt`."""
    ends_at: float | None = None
    """Epoch seconds of a resolved alert's `endsAt`, when it carries one."""

    @property
    def resolved_at(self) -> float:
        """When the recorded resolve happened: `endsAt`, else (no end time) the start it closed."""
        return self.ends_at if self.ends_at is not None else self.starts_at


def _seen(alert: Alert) -> Seen | None:
    if alert.starts_at is None:
        return None  # AMP's default text carries no times: arrival order is all there is
    resolved = alert.status is Status.RESOLVED
    ends = alert.ends_at.timestamp() if resolved and alert.ends_at is not None else None
    return Seen(resolved=resolved, starts_at=alert.starts_at.timestamp(), ends_at=ends)


def is_stale(alert: Alert, seen: Mapping[str, Seen]) -> bool:
    """True when `seen` already holds a newer state of this alert than `alert` says.

    A firing is stale when its start is not after a recorded resolve of the same alert, or when a
    later start (a newer incident) is recorded; a resolve is stale when a later start is recorded.
    An alert without times, or not seen before, is never stale.
    """
    mine, known = _seen(alert), seen.get(alert.fingerprint)
    if mine is None or known is None:
        return False
    if known.starts_at > mine.starts_at:
        return True
    return not mine.resolved and known.resolved and mine.starts_at <= known.resolved_at


def stale_alerts(alerts: Iterable[Alert], seen: Mapping[str, Seen]) -> tuple[Alert, ...]:
    return tuple(a for a in alerts if is_stale(a, seen))


def all_stale(alerts: Iterable[Alert], seen: Mapping[str, Seen]) -> bool:
    """True when there is at least one alert and every one is stale: the message changes nothing."""
    items = tuple(alerts)
    return bool(items) and all(is_stale(a, seen) for a in items)


def of_status(alerts: Iterable[Alert], status: str) -> tuple[Alert, ...]:
    """The alerts a notification of group `status` is about: its firing alerts for "firing" (a group
    fires while any alert does), every alert for "resolved"."""
    items = tuple(alerts)
    return tuple(a for a in items if a.status is Status.FIRING) if status == "firing" else items


def remember(seen: Mapping[str, Seen], alerts: Iterable[Alert]) -> dict[str, Seen]:
    """`seen` with the alerts' states added where they are not stale (newest by start kept)."""
    result = dict(seen)
    for alert in alerts:
        mine = _seen(alert)
        if mine is None or is_stale(alert, result):
            continue
        result[alert.fingerprint] = mine
    if len(result) > SEEN_LIMIT:
        newest = sorted(result.items(), key=lambda kv: (kv[1].starts_at, kv[0]), reverse=True)
        result = dict(newest[:SEEN_LIMIT])
    return result


def seen_to_json(seen: Mapping[str, Seen]) -> dict[str, list[float | int | None]]:
    """A compact form for a state-table item: fingerprint -> [resolved, startsAt, endsAt]."""
    return {fp: [int(s.resolved), s.starts_at, s.ends_at] for fp, s in seen.items()}


def seen_from_json(data: object) -> dict[str, Seen]:
    """The inverse of `seen_to_json`; entries it cannot read are dropped (ordered by arrival again)."""
    result: dict[str, Seen] = {}
    if not isinstance(data, Mapping):
        return result
    for fp, value in data.items():
        try:
            resolved, start, end = value
            result[str(fp)] = Seen(
                resolved=bool(resolved), starts_at=float(start), ends_at=None if end is None else float(end)
            )
        except (TypeError, ValueError):
            continue
    return result
