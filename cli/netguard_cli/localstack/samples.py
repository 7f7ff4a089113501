"""What the intake understands of each sample in events/: the demo's first section, and its
fallback when the live stack cannot run."""

from __future__ import annotations

from pathlib import Path

from netguard.alerts import Unparseable, load_sns_file, parse_message
from netguard.enriched import SCHEMA, SchemaError, event_from_json


def summarize_events(directory: Path) -> list[str]:
    """Run the intake over every event file; one line each (format, status, alerts, allowances)."""
    lines = []
    for path in sorted(directory.glob("*.json")):
        try:
            messages = load_sns_file(path.read_text())
        except Exception as exc:  # noqa: BLE001 -- report and go on with the next file
            lines.append(f"{path.name}: not readable as an SNS event ({type(exc).__name__}: {exc})")
            continue
        parts = []
        for message in messages:
            enriched = _enriched_summary(message.message)
            if enriched:
                parts.append(enriched)
                continue
            result = parse_message(message)
            if isinstance(result, Unparseable):
                parts.append(f"unparseable ({result.reason})")
                continue
            for group in result:
                kinds = sorted({a.allowance.value for a in group.alerts})
                names = sorted({a.labels.get("alertname", "?") for a in group.alerts})
                parts.append(
                    f"{group.source_format.value} {group.status.value}: {len(group.alerts)} alert(s) "
                    f"{','.join(names)} [{','.join(kinds)}]"
                    + (" TRUNCATED" if group.truncated else "")
                    + (f" warnings={len(group.warnings)}" if group.warnings else "")
                )
        lines.append(f"{path.name}: " + ("; ".join(parts) or "no messages"))
    return lines


def _enriched_summary(body: str) -> str:
    """A one-line description when `body` is a netguard enriched event (input of the notifiers and
    the remediation, not of the intake); empty otherwise."""
    if SCHEMA not in body:
        return ""
    try:
        event = event_from_json(body)
    except SchemaError:
        return ""
    what = f"enriched event {event.event_type.value} {event.status}".rstrip()
    if event.remediation is not None:
        what += f" ({event.remediation.action.value} -> {event.remediation.outcome.value})"
    elif event.alerts:
        what += (
            f": {len(event.alerts)} alert(s) {event.alertname}, part {event.part_index}/{event.part_count}"
        )
    return what + " (input of notify/remediate, not of the intake)"
