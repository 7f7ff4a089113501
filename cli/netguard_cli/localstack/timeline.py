"""What happened over time in a local stack run: drops per node, CoreDNS replicas, and markers.

Called by `report.py` (the chart) and the supervisor of `netguard local` (`timeline.json`). The
recorder is the stack's own event log: the exporter's drop rates and CoreDNS's replica count only
change at the events the stack emits (`exporter/drops` when the load model sets new rates,
`kubernetes/coredns` when the deployment or its Ready pods change), so those events are exact
samples of step series and no sampling thread is needed. Pure: events in, frozen data out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class EventLike(Protocol):
    """What a `StackEvent` offers (kept structural so recorded runs need no live stack)."""

    @property
    def at(self) -> float: ...
    @property
    def source(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


class MarkerKind(StrEnum):
    FIRED = "alert-fired"
    """Prometheus went from no alert firing to at least one."""
    REMEDIATION = "remediation"
    """A remediation acted: a report with an outcome other than `skipped` (applied, dry-run, refused,
    failed); the "did nothing because" reports are in the decisions table, not on the chart."""
    RESOLVED = "alert-resolved"
    """After an alert fired, the last firing or pending alert went inactive."""
    PUBLISHED = "published"
    """A message was published to the alerts topic by hand (`netguard local publish`)."""


@dataclass(frozen=True)
class Marker:
    at: float
    kind: MarkerKind
    text: str


@dataclass(frozen=True)
class Point:
    at: float
    value: float


@dataclass(frozen=True)
class Timeline:
    end: float
    """Seconds since the stack started when the timeline was taken (the chart's right edge)."""
    start: float = 0.0
    """When the first series or marker begins (the stack was ready; the chart's left edge)."""
    drops: Mapping[str, tuple[Point, ...]] = field(default_factory=dict)
    """Node -> link-local drops per second, one point per change (a step series)."""
    replicas: tuple[Point, ...] = ()
    """CoreDNS `spec.replicas`, one point per change."""
    ready: tuple[Point, ...] = ()
    """Ready CoreDNS pods, one point per change."""
    markers: tuple[Marker, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        def points(series: Sequence[Point]) -> list[list[float]]:
            return [[p.at, p.value] for p in series]

        return {
            "start": self.start,
            "end": self.end,
            "drops": {node: points(series) for node, series in self.drops.items()},
            "replicas": points(self.replicas),
            "ready": points(self.ready),
            "markers": [{"at": m.at, "kind": m.kind.value, "text": m.text} for m in self.markers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timeline:
        def points(raw: Iterable[Sequence[float]]) -> tuple[Point, ...]:
            return tuple(Point(float(at), float(value)) for at, value in raw)

        return cls(
            start=float(data.get("start", 0.0)),
            end=float(data.get("end", 0.0)),
            drops={str(node): points(series) for node, series in (data.get("drops") or {}).items()},
            replicas=points(data.get("replicas") or []),
            ready=points(data.get("ready") or []),
            markers=tuple(
                Marker(float(m["at"]), MarkerKind(m["kind"]), str(m.get("text", "")))
                for m in data.get("markers") or []
            ),
        )


def _remediation(data: Mapping[str, Any]) -> Mapping[str, Any]:
    report = (data.get("event") or {}).get("remediation")
    return report if isinstance(report, Mapping) else {}


def _remediation_text(data: Mapping[str, Any]) -> str:
    report = _remediation(data)
    before = (report.get("before") or {}).get("replicas")
    after = (report.get("after") or {}).get("replicas")
    change = f" {before}→{after}" if before is not None and after is not None and before != after else ""
    return f"{report.get('action', 'remediation')}: {report.get('outcome', '?')}{change}"


def timeline_from_events(events: Iterable[EventLike], *, end: float | None = None) -> Timeline:
    """The step series and markers of a run, from its events in order."""
    drops: dict[str, list[Point]] = {}
    current: dict[str, float] = {}
    replicas: list[Point] = []
    ready: list[Point] = []
    markers: list[Marker] = []
    alert_states: dict[str, str] = {}
    episode = False
    """An alert fired and has not resolved yet (so start-up's pending-then-inactive is no marker)."""
    first_at: float | None = None
    last_at = 0.0
    for event in events:
        last_at = max(last_at, event.at)
        if event.source == "stack" and event.kind == "ready" and first_at is None:
            first_at = event.at
        if event.source == "exporter" and event.kind == "drops":
            rates = {str(k): float(v) for k, v in (event.data.get("drops") or {}).items()}
            for node in sorted(set(current) | set(rates)):
                value = rates.get(node, 0.0)
                if node not in drops:
                    begin = first_at if first_at is not None else 0.0
                    drops[node] = [Point(begin, 0.0)] if event.at > begin else []
                if current.get(node) != value:
                    drops[node].append(Point(event.at, value))
            current = {node: rates.get(node, 0.0) for node in set(current) | set(rates)}
        elif event.source == "kubernetes" and event.kind == "coredns":
            for series, key in ((replicas, "replicas"), (ready, "ready")):
                value = float(event.data.get(key, 0))
                if not series or series[-1].value != value:
                    series.append(Point(event.at, value))
        elif event.source == "prometheus" and event.kind.startswith("alert-") and event.data.get("alert"):
            alert_states[str(event.data["alert"])] = event.kind.removeprefix("alert-")
            firing = any(s == "firing" for s in alert_states.values())
            active = any(s in ("firing", "pending") for s in alert_states.values())
            if firing and not episode:
                episode = True
                markers.append(Marker(event.at, MarkerKind.FIRED, event.text))
            elif episode and not active:
                episode = False
                markers.append(Marker(event.at, MarkerKind.RESOLVED, event.text))
        elif event.source == "enriched" and event.kind.startswith("remediation"):
            if _remediation(event.data).get("outcome") not in (None, "", "skipped"):
                markers.append(Marker(event.at, MarkerKind.REMEDIATION, _remediation_text(event.data)))
        elif event.source == "local" and event.kind == "published":
            markers.append(Marker(event.at, MarkerKind.PUBLISHED, event.text))
    starts = [s[0].at for s in (*drops.values(), replicas) if s] + [m.at for m in markers]
    return Timeline(
        start=first_at if first_at is not None else min(starts, default=0.0),
        end=max(end if end is not None else last_at, last_at),
        drops={node: tuple(series) for node, series in sorted(drops.items())},
        replicas=tuple(replicas),
        ready=tuple(ready),
        markers=tuple(markers),
    )
