"""Valid JSON messages: webhook-shaped payloads, templates using `toJson`, netguard's own template
(`amp/netguard.tmpl`), and AMP's JSON template when no value needed escaping.

All share the webhook keys (`receiver`, `status`, `alerts[]`, `groupLabels`, `commonLabels`,
`commonAnnotations`, `externalURL`, `groupKey`). A message cut short (AMP's 256 KB limit) is salvaged
alert by alert up to the cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from netguard.alerts.assemble import RawAlert, build_group
from netguard.alerts.errors import FormatError
from netguard.alerts.models import AlertGroup, SourceFormat, Status, SubjectInfo
from netguard.alerts.times import is_go_time, parse_time

_ALERTS_KEY = re.compile(r'"alerts"\s*:\s*\[')


def is_alert_payload(data: Any) -> bool:
    return isinstance(data, Mapping) and isinstance(data.get("alerts"), list)


_STR_ONLY = frozenset({str})
_STATUSES = {status.value: status for status in Status}


def _is_object(value: Any) -> bool:
    # json.loads gives dicts: skip the slower ABC check for them.
    return type(value) is dict or isinstance(value, Mapping)


def _strings(value: Any, what: str, warnings: list[str], alert_index: int | None = None) -> dict[str, str]:
    """`what` names the map in a warning, prefixed with `alert N` when `alert_index` is given (so the
    text is only built when needed). Always a new dict, which the caller may hand over (RawAlert)."""
    if value is None:
        return {}
    if type(value) is dict:
        # From json.loads: its keys are strings, so only the values need checking (at C speed).
        if {*map(type, value.values())} <= _STR_ONLY:
            return dict(value)  # the usual case: nothing to convert
    elif not isinstance(value, Mapping):
        warnings.append(
            f"{what if alert_index is None else f'alert {alert_index + 1} {what}'} is not an object; ignored"
        )
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _status(value: Any, fallback: Status | None = None) -> Status:
    known = _STATUSES.get(value) if type(value) is str else None
    if known is not None:
        return known
    try:
        return Status(str(value).lower())
    except ValueError:
        if fallback is not None:
            return fallback
        raise FormatError(f"JSON: unknown status {value!r}") from None


def _raw_alert(data: Any, index: int, group_status: Status, warnings: list[str]) -> RawAlert:
    if not _is_object(data):
        raise FormatError(f"JSON: alert {index + 1} is not an object")
    if "status" not in data:
        warnings.append(f"alert {index + 1} has no status; the group's status is used")
    try:
        starts = parse_time(str(data.get("startsAt") or ""))
        ends = parse_time(str(data.get("endsAt") or ""))
    except ValueError as exc:
        raise FormatError(f"JSON: alert {index + 1}: {exc}") from exc
    return RawAlert(
        status=_status(data.get("status", group_status), group_status),
        labels=_strings(data.get("labels"), "labels", warnings, index),
        annotations=_strings(data.get("annotations"), "annotations", warnings, index),
        starts_at=starts,
        ends_at=ends,
        generator_url=str(data.get("generatorURL") or ""),
        fingerprint=str(data.get("fingerprint") or ""),
    )


def has_go_times(data: Any) -> bool:
    """Alert times in Go's `time.Time.String()` form: AMP's JSON template rendered this."""
    return is_alert_payload(data) and _format_of(list(data["alerts"])) is SourceFormat.AMP_JSON


def _format_of(alerts: list[Any]) -> SourceFormat:
    for alert in alerts:
        if _is_object(alert):
            for key in ("startsAt", "endsAt"):
                value = alert.get(key)
                if isinstance(value, str) and is_go_time(value):
                    return SourceFormat.AMP_JSON
    return SourceFormat.JSON


def from_payload(
    data: Mapping[str, Any],
    *,
    subject: SubjectInfo | None,
    truncated: bool,
    cut: bool = False,
    extra_warnings: tuple[str, ...] = (),
) -> AlertGroup:
    warnings = list(extra_warnings)
    alerts = list(data.get("alerts") or [])
    statuses = [a.get("status") for a in alerts if isinstance(a, Mapping)]
    default = Status.FIRING if "firing" in statuses or not statuses else Status.RESOLVED
    group_status = _status(data["status"], default) if "status" in data else default
    raws = [_raw_alert(alert, i, group_status, warnings) for i, alert in enumerate(alerts)]
    dropped = data.get("truncatedAlerts")
    if isinstance(dropped, int) and dropped > 0:
        warnings.append(f"Alertmanager left {dropped} alerts out of this message (max_alerts)")
    if cut and not truncated:
        warnings.append("message ends before its alert list closes although it is not marked truncated")
    return build_group(
        raws,
        source_format=_format_of(alerts),
        warnings=warnings,
        status=group_status,
        receiver=str(data.get("receiver") or ""),
        group_labels=_strings(data.get("groupLabels"), "groupLabels", warnings) if not cut else None,
        common_labels=_strings(data.get("commonLabels"), "commonLabels", warnings) if not cut else None,
        common_annotations=(
            _strings(data.get("commonAnnotations"), "commonAnnotations", warnings) if not cut else None
        ),
        truncated=truncated or cut,
        subject=subject,
        external_url=str(data.get("externalURL") or ""),
        group_key=str(data.get("groupKey") or ""),
    )


def salvage(text: str) -> tuple[dict[str, Any], bool] | None:
    """The complete alerts of a JSON message cut short, with the fields before the list.

    Returns (payload, cut) or None when the text has no `"alerts": [` list of objects.
    """
    match = _ALERTS_KEY.search(text)
    if match is None:
        return None
    decoder = json.JSONDecoder()
    head: dict[str, Any] = {}
    for key in ("receiver", "status", "externalURL", "groupKey"):
        found = re.search(rf'"{key}"\s*:\s*("(?:[^"\\]|\\.)*")', text[: match.start()])
        if found:
            head[key] = json.loads(found.group(1))
    alerts: list[Any] = []
    position = match.end()
    while True:
        position = _skip_space(text, position)
        if text.startswith("]", position):
            return None  # the list closed: not a cut, the error is elsewhere
        if alerts:
            if not text.startswith(",", position):
                break
            position = _skip_space(text, position + 1)
        try:
            alert, position = decoder.raw_decode(text, position)
        except ValueError:
            break
        alerts.append(alert)
    head["alerts"] = alerts
    return head, True


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
