"""Reading Alertmanager's default SNS subject: `[FIRING:N] <group values> (<other common values>)`.

AMP cuts subjects to 100 characters (and sets the `modified` attribute), so the end of a subject may
be missing; whatever precedes the cut is still read.
"""

from __future__ import annotations

import re

from netguard.alerts.models import Status, SubjectInfo

SNS_SUBJECT_LIMIT = 100
_HEAD = re.compile(r"^\s*\[(?P<status>FIRING|RESOLVED)(?::(?P<count>\d+))?\]\s?", re.IGNORECASE)
_INSTANCE = re.compile(
    r"(?<![\w.:])(?:(?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):\d{1,5}(?![\w.:])"
)


def parse_subject(subject: str) -> SubjectInfo:
    """Status, firing count and label values of a default subject; an unknown form gives status None."""
    match = _HEAD.match(subject)
    if match is None:
        return SubjectInfo(status=None, firing_count=None, raw=subject)
    status = Status(match.group("status").lower())
    count = int(match.group("count")) if match.group("count") else None
    cut = len(subject) >= SNS_SUBJECT_LIMIT
    rest = subject[match.end() :]
    group_part, other_part = rest, ""
    open_at = rest.find(" (")
    if open_at >= 0 and (rest.endswith(")") or cut):
        group_part, other_part = rest[:open_at], rest[open_at + 2 :]
        other_part = other_part.removesuffix(")")
    elif rest.startswith("(") and (rest.endswith(")") or cut):
        group_part, other_part = "", rest[1:].removesuffix(")")
    return SubjectInfo(
        status=status,
        firing_count=count if status is Status.FIRING else None,
        group_values=tuple(group_part.split()),
        other_values=tuple(other_part.split()),
        cut=cut,
        raw=subject,
    )


def instance_in(values: tuple[str, ...] | list[str], *, cut: bool = False) -> str:
    """The first `IP:port` (or `host.domain:port`, `[v6]:port`) value, skipping a possibly cut last one."""
    candidates = list(values[:-1] if cut and values else values)
    for value in candidates:
        if _INSTANCE.fullmatch(value):
            return value
    return ""


def alertname_in(values: tuple[str, ...] | list[str]) -> str:
    """A value that looks like an alert name (`LinkLocalAllowanceExceeded`): an identifier with a capital."""
    for value in values:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value) and re.search(r"[A-Z]", value):
            return value
    return ""
