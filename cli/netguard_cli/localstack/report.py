"""One self-contained HTML page of a local stack run, to look at and to show a colleague.

Written by `netguard demo` at the end of its run, by `netguard local report`, and by any scenario
through `write_report(stack, path)`. It holds an inline SVG chart (link-local drops per node and
CoreDNS replicas over time, with markers where the alert fired, remediation acted and the alert
resolved), the remediation decisions with their reasons, the Slack messages rendered from their
Block Kit, and the PagerDuty events. No script, no external resource: a Content-Security-Policy
forbids loading anything, so the page opens offline. The chart is generated here because a
step chart of a few series needs no charting library.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from netguard_cli.localstack.blockkit import message_to_html
from netguard_cli.localstack.timeline import EventLike, MarkerKind, Point, Timeline, timeline_from_events

SECRET_KEYS = frozenset({"routing_key", "token", "webhook_url", "integration_key"})
"""Request fields that hold credentials: never shown (the receivers keep the bodies as sent)."""
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
MARKER_STYLE = {
    MarkerKind.FIRED: ("#d62728", "alert fired"),
    MarkerKind.REMEDIATION: ("#ff7f0e", "remediation"),
    MarkerKind.RESOLVED: ("#2ca02c", "alert resolved"),
    MarkerKind.PUBLISHED: ("#7f7f7f", "published"),
}


@dataclass(frozen=True)
class Received:
    at: float
    kind: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class ReportData:
    title: str
    generated: str
    timeline: Timeline
    cluster: str = ""
    decisions: tuple[Received, ...] = ()
    """Remediation reports (the enriched events' `remediation`)."""
    slack: tuple[Received, ...] = ()
    pagerduty: tuple[Received, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Lines shown under the title (what was skipped and why)."""


class StackLike(Protocol):
    """What `write_report` reads from a `LocalStack`."""

    @property
    def events(self) -> list[Any]: ...
    @property
    def skipped(self) -> dict[str, str]: ...

    def elapsed(self) -> float: ...


def redact(value: Any) -> Any:
    """`value` with every credential field replaced (recursively)."""
    if isinstance(value, Mapping):
        return {k: ("[redacted]" if k in SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def report_data(
    events: Iterable[EventLike],
    *,
    title: str = "netguard: local stack run",
    end: float | None = None,
    cluster: str = "",
    notes: Sequence[str] = (),
    generated: str | None = None,
) -> ReportData:
    """Everything the page shows, from a run's events (pure)."""
    events = list(events)
    decisions: list[Received] = []
    slack: list[Received] = []
    pagerduty: list[Received] = []
    for event in events:
        if event.source == "enriched" and event.kind.startswith("remediation"):
            report = (event.data.get("event") or {}).get("remediation")
            if isinstance(report, Mapping):
                decisions.append(Received(event.at, str(report.get("outcome", "")), report))
        elif event.source in ("slack", "pagerduty") and isinstance(event.data.get("body"), Mapping):
            item = Received(event.at, event.kind, redact(event.data["body"]))
            (slack if event.source == "slack" else pagerduty).append(item)
    return ReportData(
        title=title,
        generated=generated or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        timeline=timeline_from_events(events, end=end),
        cluster=cluster,
        decisions=tuple(decisions),
        slack=tuple(slack),
        pagerduty=tuple(pagerduty),
        notes=tuple(notes),
    )


def write_report(
    stack: StackLike, path: Path, *, title: str = "netguard: local stack run", since: float = 0.0
) -> Path:
    """Write the report of `stack` (a `LocalStack`, running or just finished) to `path`; `since`
    (stack seconds) keeps one scenario's part of a stack that played several."""
    settings = getattr(stack, "settings", None)
    data = report_data(
        [event for event in stack.events if event.at >= since],
        title=title,
        end=stack.elapsed(),
        cluster=str(getattr(settings, "cluster_name", "")),
        notes=[f"skipped {name}: {reason}" for name, reason in stack.skipped.items()],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data), encoding="utf-8")
    return path


# --- the chart --------------------------------------------------------------------------------

WIDTH, HEIGHT = 960, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 64, 44, 40


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times 10^n at or above `value` (axes end on a round number)."""
    if value <= 0:
        return 1.0
    exponent = 10.0 ** math.floor(math.log10(value))
    return next(m * exponent for m in (1, 2, 5, 10) if m * exponent >= value)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Scale:
    def __init__(self, start: float, end: float, drops_max: float, replicas_max: float) -> None:
        self.start = start
        self.end = max(end, start + 1.0)
        self.drops_max = _nice_ceiling(drops_max)
        self.replicas_max = max(1.0, math.ceil(replicas_max + 1))

    def x(self, at: float) -> float:
        span = self.end - self.start
        return LEFT + (WIDTH - LEFT - RIGHT) * (min(max(at, self.start), self.end) - self.start) / span

    def y_drops(self, value: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * value / self.drops_max

    def y_replicas(self, value: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * value / self.replicas_max


def _step_path(points: Sequence[Point], end: float, x: Any, y: Any) -> str:
    if not points:
        return ""
    parts = [f"M{x(points[0].at):.1f},{y(points[0].value):.1f}"]
    for point in points[1:]:
        parts.append(f"H{x(point.at):.1f}V{y(point.value):.1f}")
    parts.append(f"H{x(end):.1f}")
    return "".join(parts)


def node_colours(nodes: Iterable[str]) -> dict[str, str]:
    return {node: PALETTE[i % len(PALETTE)] for i, node in enumerate(nodes)}


def render_chart(timeline: Timeline) -> str:
    """The SVG: one step path per node (`data-series="drops" data-node=...`), the replica and Ready
    series (`data-series="replicas"` / `"ready"`), one `g.marker[data-marker]` per marker."""
    drops_max = max((p.value for s in timeline.drops.values() for p in s), default=0.0)
    replicas_max = max((p.value for p in (*timeline.replicas, *timeline.ready)), default=0.0)
    scale = _Scale(timeline.start, timeline.end, drops_max, replicas_max)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="link-local drops per node and '
        f'CoreDNS replicas over time" data-end="{_fmt(timeline.end)}">'
    ]
    # Grid and axes: left drops/s, right replicas, bottom seconds.
    for i in range(6):
        value = scale.drops_max * i / 5
        y = scale.y_drops(value)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>'
        )
    for i in range(int(scale.replicas_max) + 1):
        y = scale.y_replicas(i)
        out.append(f'<text class="tick" x="{WIDTH - RIGHT + 6}" y="{y + 4:.1f}">{i}</text>')
    step = _nice_ceiling((scale.end - scale.start) / 8)
    tick = math.ceil(scale.start / step) * step
    while tick <= scale.end + 1e-9:
        x = scale.x(tick)
        out.append(
            f'<line class="tickmark" x1="{x:.1f}" x2="{x:.1f}" y1="{HEIGHT - BOTTOM}" '
            f'y2="{HEIGHT - BOTTOM + 4}"/>'
        )
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{_fmt(tick)}s</text>"
        )
        tick += step
    out.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}"/>'
        f'<text class="label" x="14" y="{TOP + (HEIGHT - TOP - BOTTOM) / 2:.0f}" '
        f'transform="rotate(-90 14 {TOP + (HEIGHT - TOP - BOTTOM) / 2:.0f})" text-anchor="middle">'
        "link-local drops/s</text>"
        f'<text class="label" x="{WIDTH - 14}" y="{TOP + (HEIGHT - TOP - BOTTOM) / 2:.0f}" '
        f'transform="rotate(90 {WIDTH - 14} {TOP + (HEIGHT - TOP - BOTTOM) / 2:.0f})" text-anchor="middle">'
        "CoreDNS replicas</text>"
        f'<text class="label" x="{WIDTH / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle">'
        "seconds since the stack started</text>"
    )
    colours = node_colours(timeline.drops)
    count = len(timeline.drops)
    for index, (node, series) in enumerate(timeline.drops.items()):
        peak = max((p.value for p in series), default=0.0)
        # Nodes often drop at the same rate: earlier series are drawn wider so each stays visible.
        width = 2 + 3 * (count - 1 - index)
        out.append(
            f'<path class="series drops" data-series="drops" data-node="{html.escape(node)}" '
            f'style="stroke:{colours[node]};stroke-width:{width}px" '
            f'd="{_step_path(series, timeline.end, scale.x, scale.y_drops)}">'
            f"<title>{html.escape(node)}: link-local drops/s (peak {_fmt(peak)})</title></path>"
        )
    for name, series, css in (
        ("replicas", timeline.replicas, "replicas"),
        ("ready", timeline.ready, "ready"),
    ):
        if series:
            out.append(
                f'<path class="series {css}" data-series="{name}" '
                f'd="{_step_path(series, timeline.end, scale.x, scale.y_replicas)}">'
                f"<title>CoreDNS {name}</title></path>"
            )
    for index, marker in enumerate(timeline.markers):
        colour, label = MARKER_STYLE[marker.kind]
        x = scale.x(marker.at)
        right = x < WIDTH - RIGHT - 90  # labels near the right edge go to the line's left
        y = 14 + 12 * (index % 3)  # stagger labels so close markers stay readable
        out.append(
            f'<g class="marker" data-marker="{marker.kind.value}" data-at="{_fmt(marker.at)}">'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" y2="{HEIGHT - BOTTOM}" stroke="{colour}"/>'
            f'<text x="{x + (3 if right else -3):.1f}" y="{y}" fill="{colour}" '
            f'text-anchor="{"start" if right else "end"}">{html.escape(label)}</text>'
            f"<title>{_fmt(marker.at)}s {html.escape(label)}: {html.escape(marker.text)}</title></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _legend(timeline: Timeline) -> str:
    items = [
        f'<span class="key"><i style="background:{colour}"></i>{html.escape(node)}</span>'
        for node, colour in node_colours(timeline.drops).items()
    ]
    items.append('<span class="key"><i class="replicas-key"></i>CoreDNS replicas (right axis)</span>')
    items.append('<span class="key"><i class="ready-key"></i>CoreDNS Ready pods</span>')
    items.extend(
        f'<span class="key"><i style="background:{colour}"></i>{label}</span>'
        for colour, label in MARKER_STYLE.values()
    )
    return f'<div class="legend">{"".join(items)}</div>'


# --- the page ---------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1000px;color:#1d1c1d}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta,.note{color:#616061;font-size:12px}
svg{background:#fff;border:1px solid #e5e5e5;max-width:100%;height:auto}
svg .grid{stroke:#eee}svg .axis,svg .tickmark{stroke:#999}svg text{font-size:11px;fill:#555}
svg .marker text{font-size:10px}svg .marker line{stroke-dasharray:4 3;stroke-width:1.5}
svg .series{fill:none;stroke-width:2;stroke-linejoin:round}
svg .replicas{stroke:#111;stroke-width:2.5;stroke-dasharray:8 4}
svg .ready{stroke:#555;stroke-width:1.5;stroke-dasharray:2 3}
.legend{margin:6px 0;font-size:12px}.key{margin-right:14px;white-space:nowrap}
.key i{display:inline-block;width:14px;height:4px;margin-right:4px;vertical-align:middle}
.key .replicas-key{border-top:3px dashed #111;height:0}
.key .ready-key{border-top:2px dotted #555;height:0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eee;text-align:left;padding:4px 6px;vertical-align:top}
th{background:#fafafa}td ul{margin:0;padding-left:16px}
.slack{border:1px solid #e5e5e5;border-radius:6px;padding:10px 12px;margin:10px 0;background:#fff}
.slack .who{font-weight:700}.slack .when{color:#616061;font-size:12px;margin-left:6px}
.bk-attachment{border-left:4px solid #ddd;padding-left:10px;margin-top:6px}
.bk-header{font-size:17px;font-weight:700;margin:4px 0}.bk-section{margin:6px 0}
.bk-fields{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;margin-top:4px}
.bk-context{color:#616061;font-size:12px;margin:6px 0}.bk-context span{margin-right:8px}
.bk-divider{border:0;border-top:1px solid #e5e5e5;margin:8px 0}
.bk-actions{margin:6px 0}
.bk-button{display:inline-block;border:1px solid #ccc;border-radius:4px;padding:2px 10px;
margin-right:6px;color:#1d1c1d;text-decoration:none;font-weight:600;font-size:13px}
code{background:#f6f6f6;border:1px solid #e8e8e8;border-radius:3px;padding:0 3px;font-size:12px;
color:#c01343}
pre{background:#f8f8f8;border:1px solid #e8e8e8;padding:6px;white-space:pre-wrap}
.empty{color:#616061;font-style:italic}
"""


def _seconds(at: float) -> str:
    return f"{at:6.1f}s".strip()


def _decisions_html(decisions: Sequence[Received]) -> str:
    if not decisions:
        return '<p class="empty">No remediation decision in this run.</p>'
    rows = []
    for item in decisions:
        report = item.body
        reasons = "".join(f"<li>{html.escape(str(r))}</li>" for r in report.get("reasons") or [])
        change = html.escape(_change(report.get("before") or {}, report.get("after") or {}))
        rows.append(
            f'<tr data-decision="{html.escape(str(report.get("decision_id", "")))}">'
            f"<td>{_seconds(item.at)}</td>"
            f"<td>{html.escape(str(report.get('action', '')))}</td>"
            f"<td>{html.escape(str(report.get('outcome', '')))}</td>"
            f"<td>{html.escape(str(report.get('mode', '')))}</td><td><ul>{reasons}</ul></td><td>{change}</td>"
            f"<td>{html.escape(str(report.get('follow_up') or ''))}</td></tr>"
        )
    return (
        "<table><tr><th>at</th><th>action</th><th>outcome</th><th>mode</th><th>reasons</th>"
        f"<th>before → after</th><th>next</th></tr>{''.join(rows)}</table>"
    )


def _change(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Only what changed (`replicas: 2 → 4`); the observations a skip recorded read as "no change"."""
    changed = [
        f"{key}: {json.dumps(before.get(key))} → {json.dumps(after.get(key))}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
    return "; ".join(changed) or "no change"


_SLACK_VERB = {"post": "posted", "update": "edited", "reply": "replied in thread", "webhook": "webhook"}


def _slack_html(messages: Sequence[Received]) -> str:
    if not messages:
        return '<p class="empty">No Slack message in this run.</p>'
    cards = []
    for item in messages:
        body = item.body
        where = html.escape(str(body.get("channel") or ""))
        thread = " (thread)" if body.get("thread_ts") else ""
        cards.append(
            f'<div class="slack" data-kind="{html.escape(item.kind)}"><span class="who">netguard</span>'
            f'<span class="when">{_seconds(item.at)} · {html.escape(_SLACK_VERB.get(item.kind, item.kind))} '
            f"in {where}{thread}</span>{message_to_html(body)}</div>"
        )
    return "".join(cards)


def _pagerduty_html(events: Sequence[Received]) -> str:
    if not events:
        return '<p class="empty">No PagerDuty event in this run.</p>'
    rows = []
    for item in events:
        payload = item.body.get("payload") or {}
        rows.append(
            f'<tr data-kind="{html.escape(item.kind)}"><td>{_seconds(item.at)}</td>'
            f"<td>{html.escape(item.kind)}</td>"
            f"<td>{html.escape(str(payload.get('severity') or ''))}</td>"
            f"<td>{html.escape(str(payload.get('summary') or ''))}</td>"
            f"<td>{html.escape(str(payload.get('source') or ''))}</td>"
            f"<td><code>{html.escape(str(item.body.get('dedup_key') or ''))}</code></td></tr>"
        )
    return (
        "<table><tr><th>at</th><th>event</th><th>severity</th><th>summary</th><th>source</th>"
        f"<th>dedup key</th></tr>{''.join(rows)}</table>"
    )


def _markers_html(timeline: Timeline) -> str:
    if not timeline.markers:
        return ""
    items = "".join(
        f"<li>{_seconds(m.at)} <b>{html.escape(MARKER_STYLE[m.kind][1])}</b>: {html.escape(m.text)}</li>"
        for m in timeline.markers
    )
    return f"<ul class='markers'>{items}</ul>"


def render_report(data: ReportData) -> str:
    """The whole page (pure)."""
    timeline = data.timeline
    notes = "".join(f'<div class="note">{html.escape(n)}</div>' for n in data.notes)
    no_drops = (
        ""
        if timeline.drops
        else '<p class="empty">No link-local drops recorded (DNS load off: '
        "<code>netguard local load --qps 3000</code> turns it on).</p>"
    )
    cluster = f" · cluster <code>{html.escape(data.cluster)}</code>" if data.cluster else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f'<meta name="viewport" content="width=device-width"><title>{html.escape(data.title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(data.title)}</h1>"
        f'<div class="meta">generated {html.escape(data.generated)}{cluster} · '
        f"{_fmt(timeline.end)} s of stack time · {len(data.decisions)} decision(s), "
        f"{len(data.slack)} Slack message(s), {len(data.pagerduty)} PagerDuty event(s)</div>{notes}"
        "<h2>Link-local drops per node and CoreDNS replicas</h2>"
        f"{render_chart(timeline)}{_legend(timeline)}{no_drops}{_markers_html(timeline)}"
        f"<h2>Remediation decisions</h2>{_decisions_html(data.decisions)}"
        f"<h2>Slack</h2>{_slack_html(data.slack)}"
        f"<h2>PagerDuty</h2>{_pagerduty_html(data.pagerduty)}"
        "</body></html>\n"
    )
