"""Python re-implementations of the Alertmanager templates netguard reads, for property tests.

Each renders the same group data the way Alertmanager 0.25 does (checked against the real binary in
tests/integration/test_alertmanager_formats.py): the default SNS text and subject, AMP's documented
JSON template, netguard's own JSON template and the seed document's `key: value` message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from netguard.alerts.fingerprint import fingerprint

ZERO_GO = "0001-01-01 00:00:00 +0000 UTC"


@dataclass
class SpecAlert:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime = datetime(2026, 11, 25, 20, 36, 41, 124000, tzinfo=UTC)
    ends_at: datetime | None = None
    generator_url: str = "http://prometheus.local/graph?g0.expr=up"


@dataclass
class SpecGroup:
    alerts: list[SpecAlert]
    group_by: tuple[str, ...] = ("alertname",)
    receiver: str = "netguard"

    @property
    def status(self) -> str:
        return "firing" if any(a.status == "firing" for a in self.alerts) else "resolved"

    def _common(self, attr: str) -> dict[str, str]:
        maps = [getattr(a, attr) for a in self.alerts]
        shared = dict(maps[0])
        for other in maps[1:]:
            # Go's map lookup gives "" for a missing key, so an empty value stays "common".
            shared = {k: v for k, v in shared.items() if other.get(k, "") == v}
        return shared

    @property
    def common_labels(self) -> dict[str, str]:
        return self._common("labels")

    @property
    def common_annotations(self) -> dict[str, str]:
        return self._common("annotations")

    @property
    def group_labels(self) -> dict[str, str]:
        return {k: v for k, v in self.common_labels.items() if k in self.group_by}


def go_time(value: datetime | None) -> str:
    """Go's time.Time.String() for a UTC time: fraction without trailing zeros."""
    if value is None:
        return ZERO_GO
    value = value.astimezone(UTC)
    fraction = f"{value.microsecond:06d}".rstrip("0")
    return value.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " +0000 UTC"


def rfc3339(value: datetime | None) -> str:
    if value is None:
        return "0001-01-01T00:00:00Z"
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _sorted(values: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted(values.items())


def default_subject(group: SpecGroup) -> str:
    head = (
        f"[FIRING:{sum(a.status == 'firing' for a in group.alerts)}]"
        if group.status == "firing"
        else "[RESOLVED]"
    )
    text = f"{head} {' '.join(v for _, v in _sorted(group.group_labels))} "
    others = {k: v for k, v in group.common_labels.items() if k not in group.group_labels}
    if others:
        text += f"({' '.join(v for _, v in _sorted(others))})"
    return text


def _text_list(alerts: list[SpecAlert]) -> str:
    out = ""
    for alert in alerts:
        out += "Labels:\n" + "".join(f" - {k} = {v}\n" for k, v in _sorted(alert.labels))
        out += "Annotations:\n" + "".join(f" - {k} = {v}\n" for k, v in _sorted(alert.annotations))
        out += f"Source: {alert.generator_url}\n"
    return out


def default_text(group: SpecGroup) -> str:
    firing = [a for a in group.alerts if a.status == "firing"]
    resolved = [a for a in group.alerts if a.status == "resolved"]
    out = " ".join(v for _, v in _sorted(group.common_annotations)) + "\n\n"
    if firing:
        out += "Alerts Firing:\n" + _text_list(firing) + "\n\n"
    out += "\n"
    if resolved:
        out += "Alerts Resolved:\n" + _text_list(resolved) + "\n\n"
    return out


def _amp_map(values: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'"{k}": "{v}"' for k, v in _sorted(values)) + "}"


def amp_json(group: SpecGroup) -> str:
    """AMP's documented template: values pasted between quotes, unescaped."""
    alerts = []
    for a in group.alerts:
        text = f'{{"status": "{a.status}"'
        if a.labels:
            text += ',"labels": ' + _amp_map(a.labels)
        if a.annotations:
            text += ',"annotations": ' + _amp_map(a.annotations)
        text += (
            f',"startsAt": "{go_time(a.starts_at)}","endsAt": "{go_time(a.ends_at)}"'
            f',"generatorURL": "{a.generator_url}","fingerprint": "{fingerprint(a.labels)}"}}'
        )
        alerts.append(text)
    joined = ", ".join(alerts)
    out = f'{{"receiver": "{group.receiver}","status": "{group.status}","alerts": [{joined}]'

    if group.group_labels:
        out += ',"groupLabels": ' + _amp_map(group.group_labels)
    if group.common_labels:
        out += ',"commonLabels": ' + _amp_map(group.common_labels)
    if group.common_annotations:
        out += ',"commonAnnotations": ' + _amp_map(group.common_annotations)
    return out + "}"


def payload(group: SpecGroup, *, times: str = "rfc3339") -> dict[str, Any]:
    """The webhook / toJson / netguard shape."""
    when = rfc3339 if times == "rfc3339" else go_time
    return {
        "version": "netguard/1",
        "receiver": group.receiver,
        "status": group.status,
        "externalURL": "http://alertmanager.local",
        "groupLabels": group.group_labels,
        "commonLabels": group.common_labels,
        "commonAnnotations": group.common_annotations,
        "alerts": [
            {
                "status": a.status,
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": when(a.starts_at),
                "endsAt": when(a.ends_at),
                "generatorURL": a.generator_url,
                "fingerprint": fingerprint(a.labels),
            }
            for a in group.alerts
        ],
    }


def netguard_json(group: SpecGroup) -> str:
    return json.dumps(payload(group), ensure_ascii=False, separators=(",", ":"))


def key_value(group: SpecGroup) -> str:
    """The seed document's message: `alert_type:` / `event_type:` from the common labels."""
    labels = group.common_labels
    return f"alert_type: {labels.get('alertname', '')}\nevent_type: {labels.get('event_type', '')}     \n"
