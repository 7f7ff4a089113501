"""`key: value` templates such as the seed document's (`alert_type: {{ .CommonLabels.alertname }}`).

Such a message carries only what its template names, so the group is completed from the default
Subject (`[FIRING:N] ...`): status, firing count, the alert name and an `IP:port` instance. One alert
stands for the group, with the labels that could be read; values are stripped of surrounding spaces.
"""

from __future__ import annotations

import re

from netguard.alerts.assemble import RawAlert, build_group
from netguard.alerts.errors import FormatError
from netguard.alerts.models import AlertGroup, SourceFormat, Status, SubjectInfo
from netguard.alerts.subject import alertname_in, instance_in

_LINE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)\s*:(?:[ \t]+(?P<value>.*)|[ \t]*)")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
ALERTNAME_KEYS = frozenset({"alert_type", "alertname", "alert_name", "alert"})
STATUS_KEYS = frozenset({"status", "state", "alert_status"})
ANNOTATION_KEYS = frozenset({"summary", "description", "message", "runbook_url", "runbook", "dashboard"})
ABSENT = frozenset({"", "<no value>"})


def looks_like(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and _LINE.fullmatch(lines[0].strip()) is not None


def _read(text: str) -> list[tuple[str, str]]:
    """Each `key: value` and the lines that continue its value. The lines are collected and joined
    once: adding each line to the value as read would copy it again per line (quadratic)."""
    entries: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        match = _LINE.fullmatch(line.strip()) if line.strip() else None
        if match is not None:
            value = (match.group("value") or "").strip()
            entries.append((match.group("key"), [value] if value else []))
        elif entries and line.strip():
            entries[-1][1].append(line if entries[-1][1] else line.strip())
        elif line.strip():
            raise FormatError(f"key: value: first line is not 'key: value': {line[:80]!r}")
    return [(key, "\n".join(lines)) for key, lines in entries]


def parse(text: str, *, subject: SubjectInfo | None, truncated: bool) -> AlertGroup:
    warnings: list[str] = []
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    status: Status | None = None
    for key, value in _read(text):
        lowered = key.lower()
        if value in ABSENT:
            warnings.append(f"'{key}' is empty in the message (its label is missing in Alertmanager)")
            continue
        if lowered in ALERTNAME_KEYS:
            labels["alertname"] = value
        elif lowered in STATUS_KEYS:
            try:
                status = Status(value.lower())
            except ValueError:
                warnings.append(f"'{key}: {value[:40]}' is not firing/resolved; ignored")
        elif lowered in ANNOTATION_KEYS:
            annotations[key] = value
        elif _LABEL_NAME.fullmatch(key):
            labels[key] = value
        else:
            warnings.append(f"'{key}' is not a valid label name; ignored")
    values = subject.values if subject is not None else ()
    cut = subject.cut if subject is not None else False
    usable = values[:-1] if cut and values else values
    if status is None:
        if subject is not None and subject.status is not None:
            status = subject.status
            warnings.append("status taken from the subject")
        else:
            status = Status.FIRING
            warnings.append(
                "status unknown (no status line, subject not in the default form); assumed firing"
            )
    if "alertname" not in labels:
        guessed = alertname_in(usable)
        if guessed:
            labels["alertname"] = guessed
            warnings.append(f"alert name {guessed!r} taken from the subject")
        elif subject is None or subject.status is None:
            raise FormatError("key: value message names no alert, and the subject does not either")
        else:
            # A group of different alerts (no group_by, as in the seed document's route) has empty
            # CommonLabels, so every templated value is empty; the default Subject still says what
            # happened and how often, which is worth a notification rather than an "unparseable".
            warnings.append(
                "no alert name in the message or the subject: the group's alerts share no alertname "
                "(their labels are not in this template's output)"
            )
    if "instance" not in labels:
        instance = instance_in(usable)
        if instance:
            labels["instance"] = instance
            warnings.append(f"instance {instance!r} taken from the subject")
    reported = subject.firing_count if subject is not None else None
    if reported is not None and reported > 1:
        warnings.append(
            f"the subject counts {reported} firing alerts; the message carries only their "
            "common labels, so one alert stands for them"
        )
    warnings.append("key: value templates carry only some labels; the fingerprint covers those labels only")
    raw = RawAlert(status=status, labels=labels, annotations=annotations)
    return build_group(
        [raw],
        source_format=SourceFormat.KEY_VALUE,
        warnings=warnings,
        status=status,
        common_labels=labels,
        common_annotations=annotations,
        truncated=truncated,
        subject=subject,
        reported_count=reported,
    )
