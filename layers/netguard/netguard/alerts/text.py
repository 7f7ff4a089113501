"""Alertmanager's default SNS message (`sns.default.message`), what AMP sends with no `message` set.

    <common annotation values>
    Alerts Firing:
    Labels:
     - alertname = LinkLocalAllowanceExceeded
    Annotations:
     - summary = a value that may
    span lines
    Source: http://prometheus/graph?g0.expr=...

Values may span lines, so a line is structural only where the layout allows it: pair names come in
sorted order, `Annotations:` is followed by a pair or `Source:`, and `Source:` by a blank line,
`Labels:`, a block header or the end. The text carries no times, receiver or group labels.
"""

from __future__ import annotations

import functools
import re

from netguard.alerts.assemble import RawAlert, build_group
from netguard.alerts.errors import FormatError
from netguard.alerts.models import AlertGroup, SourceFormat, Status, SubjectInfo

HEADERS = {"Alerts Firing:": Status.FIRING, "Alerts Resolved:": Status.RESOLVED}
_PAIR = re.compile(r" - (?P<name>[a-zA-Z_][a-zA-Z0-9_]*) =(?: (?P<value>.*))?", re.DOTALL)
"""A `name = value` line (what `parse` reads without the regex)."""
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def looks_like(text: str) -> bool:
    lines = text.split("\n")
    return any(
        line in HEADERS and (i + 1 == len(lines) or lines[i + 1] == "Labels:") for i, line in enumerate(lines)
    )


@functools.lru_cache(maxsize=512)
def _is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


_LAYOUT_LINES = frozenset({"Labels:", "Annotations:", *HEADERS})


def _looks_like_layout(line: str) -> bool:
    """A line the layout writes: a ` - name =` pair, `Labels:`, `Annotations:`, `Source:`, a header."""
    if line.startswith(" - "):
        name, equals, _ = line[3:].partition(" =")
        return bool(equals) and _is_name(name)
    return line in _LAYOUT_LINES or line.startswith("Source:")


def _ends_alert(following: str | None, *, cut_here: bool) -> bool:
    """Whether a `Source:` line can end an alert, given the line after it (which the cut may shorten)."""
    if following is None or following in {"", "Labels:", *HEADERS}:
        return True
    return cut_here and any(word.startswith(following) for word in ("Labels:", *HEADERS))


class _Alert:
    """An alert being read. A value's lines are collected and joined once at the end: adding each
    line to the value as read would copy it again per line (quadratic in a value of many lines)."""

    def __init__(self, status: Status) -> None:
        self.status = status
        self.labels: dict[str, list[str]] = {}
        self.annotations: dict[str, list[str]] = {}
        self.target = self.labels
        self.name: str | None = None
        self.doubt = ""

    def start(self, name: str, value: str) -> None:
        self.name = name
        self.target[name] = [value]

    def extend(self, line: str) -> bool:
        if self.name is None:
            return False
        self.target[self.name].append(line)
        if not self.doubt and _looks_like_layout(line):
            # The line was read as part of a value because the layout does not allow it here; a
            # value holding such lines may also have been split where the layout allows it.
            self.doubt = f"a value holds a line like the message's own layout ({line[:40]!r})"
        return True

    def to_annotations(self) -> None:
        self.target = self.annotations
        self.name = None

    def raw(self, generator_url: str) -> RawAlert:
        return RawAlert(
            status=self.status,
            labels={name: "\n".join(lines) for name, lines in self.labels.items()},
            annotations={name: "\n".join(lines) for name, lines in self.annotations.items()},
            generator_url=generator_url,
            ambiguity=self.doubt,
        )


def parse(text: str, *, subject: SubjectInfo | None, truncated: bool) -> AlertGroup:
    lines = text.split("\n")
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if line in HEADERS and (i + 1 == len(lines) or lines[i + 1] == "Labels:")
        ),
        None,
    )
    if start is None:
        raise FormatError("default text without an 'Alerts Firing:' or 'Alerts Resolved:' block")
    warnings: list[str] = []
    raws: list[RawAlert] = []
    section: Status | None = None
    current: _Alert | None = None
    in_annotations = False
    last = len(lines) - 1

    def next_line(i: int) -> str | None:
        return lines[i + 1] if i < last else None

    for i in range(start, len(lines)):
        line = lines[i]
        if current is None:
            if line in HEADERS:
                section = HEADERS[line]
            elif line == "Labels:" and section is not None:
                current, in_annotations = _Alert(section), False
            elif line.strip() and i < last:
                raise FormatError(f"default text: unexpected line {i + 1}: {line[:80]!r}")
            continue
        # A `_PAIR` line whose name sorts after the previous one, read by str.partition rather than the
        # regex (most lines are pairs; a regex and two calls per line were most of the parse): a valid
        # name holds no space, so the pair's ` =` is the line's first one. The unit tests check both
        # agree.
        if line.startswith(" - "):
            name, equals, rest = line[3:].partition(" =")
            if (
                equals
                and (not rest or rest[0] == " ")
                and _is_name(name)
                and (current.name is None or name > current.name)
            ):
                current.start(name, rest[1:])
                continue
        following = next_line(i)
        if (
            not in_annotations
            and line == "Annotations:"
            and (following is None or following.startswith(("Source:", " - ")))
        ):
            current.to_annotations()
            in_annotations = True
            continue
        if in_annotations and line.startswith("Source:") and _ends_alert(following, cut_here=i + 1 == last):
            if following is None:
                break  # the newline after the URL is missing: the message was cut inside this alert
            raws.append(current.raw(line[len("Source:") :].strip()))
            current = None
            continue
        if not current.extend(line) and i < last:
            raise FormatError(f"default text: unexpected line {i + 1}: {line[:80]!r}")
    cut = current is not None
    if cut and not truncated:
        warnings.append(
            "message ends inside an alert although it is not marked truncated; that alert is dropped"
        )
    if not raws:
        raise FormatError("default text: the message was cut before the first complete alert")
    return build_group(
        raws,
        source_format=SourceFormat.DEFAULT_TEXT,
        warnings=warnings,
        truncated=truncated or cut,
        subject=subject,
    )
