"""AMP's documented JSON template (user guide page "AMP-alertmanager-receiver-JSON"), read leniently.

The template pastes values between quotes without escaping, so a `"`, `\\` or newline in a value
makes the message invalid JSON. This parser follows the template's fixed layout instead of a JSON
grammar: a value ends at the quote that is followed by what the template writes next, and label and
annotation names come in sorted order, which settles the remaining ambiguity. Times are Go's
`time.Time.String()` form. Used for every message in this layout, valid JSON or not: the template
never escapes, so a value such as `\\"` would decode to something else as JSON. `from_json` takes
json.loads's reading only where it provably agrees (a fast path).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Mapping
from typing import Any

from netguard.alerts.assemble import RawAlert, build_group
from netguard.alerts.errors import FormatError
from netguard.alerts.models import AlertGroup, SourceFormat, Status, SubjectInfo
from netguard.alerts.times import parse_time

_HEAD = re.compile(
    r'\s*\{"receiver": "(?P<receiver>.*?)","status": "(?P<status>firing|resolved)","alerts": \[', re.S
)
_ALERT = re.compile(
    r'\{"status": "(?P<status>firing|resolved)"'
    r'(?:,"labels": \{(?P<labels>.*?)\})?'
    r'(?:,"annotations": \{(?P<annotations>.*?)\})?'
    r',"startsAt": "(?P<starts>[^"]*)","endsAt": "(?P<ends>[^"]*)"'
    r',"generatorURL": "(?P<url>.*?)","fingerprint": "(?P<fingerprint>[0-9a-f]*)"\}'
    r"(?=, \{\"status\": |\]|\Z)",
    re.S,
)
_TAIL = re.compile(
    r'\](?:,"groupLabels": \{(?P<group>.*?)\})?'
    r'(?:,"commonLabels": \{(?P<common>.*?)\})?'
    r'(?:,"commonAnnotations": \{(?P<annotations>.*?)\})?\}\s*',
    re.S,
)
_PAIR_START = re.compile(r'"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)": "')
_NEXT_PAIR = re.compile(r'", "(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)": "')
_NAMES = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*(?:,[a-zA-Z_][a-zA-Z0-9_]*)*")
_COLON = frozenset({": "})
_COMMA = frozenset({", "})


def looks_like(text: str) -> bool:
    return _HEAD.match(text) is not None


def _plain_pairs(body: str) -> dict[str, str] | None:
    """`pairs` for the usual map, with no `"` inside a value: split on every `"`, the pieces must
    alternate name, `: `, value, `, ` with valid, strictly increasing names. A few C-level passes
    instead of a regex search per pair; None when the map is not that plain."""
    if len(body) < 2 or body[0] != '"' or body[-1] != '"':
        return None
    tokens = body[1:-1].split('"')
    if len(tokens) % 4 != 3 or set(tokens[1::4]) != _COLON or not set(tokens[3::4]) <= _COMMA:
        return None
    names = tokens[0::4]
    if not _sorted_names(tuple(names)):
        return None
    return dict(zip(names, tokens[2::4], strict=True))


@functools.lru_cache(maxsize=256)
def _sorted_names(names: tuple[str, ...]) -> bool:
    """Valid label names in strictly increasing order. Cached: a group's alerts repeat a few sets."""
    joined = ",".join(names)
    if joined.count(",") != len(names) - 1 or _NAMES.fullmatch(joined) is None:
        return False
    return all(map(operator.lt, names, names[1:]))


def pairs(body: str) -> dict[str, str]:
    """`"a": "x", "b": "y"` with raw values; a `", "name": "` inside a value is recognised as such
    when `name` does not sort after the previous name."""
    if not body:
        return {}
    plain = _plain_pairs(body)
    return plain if plain is not None else searched_pairs(body)


def searched_pairs(body: str) -> dict[str, str]:
    """`pairs` for any map: a regex search for the next `", "name": "` per pair (what `_plain_pairs`
    must always agree with, and the unit tests check it does)."""
    first = _PAIR_START.match(body)
    if first is None or not body.endswith('"'):
        raise FormatError(f"AMP JSON: malformed map {body[:60]!r}")
    result: dict[str, str] = {}
    name, value_start = first.group("name"), first.end()
    search_from = value_start
    while True:
        nxt = _NEXT_PAIR.search(body, search_from)
        while nxt is not None and nxt.group("name") <= name:
            nxt = _NEXT_PAIR.search(body, nxt.start() + 1)
        if nxt is None:
            result[name] = body[value_start:-1]
            return result
        result[name] = body[value_start : nxt.start()]
        name, value_start = nxt.group("name"), nxt.end()
        search_from = value_start


_ALERT_KEYS = frozenset(
    ("status", *labels, *annotations, "startsAt", "endsAt", "generatorURL", "fingerprint")
    for labels in ((), ("labels",))
    for annotations in ((), ("annotations",))
)
_TAIL_KEYS = ("groupLabels", "commonLabels", "commonAnnotations")
_STATUS_OF = {status.value: status for status in Status}
_STATUSES = frozenset(_STATUS_OF)
_HEX = re.compile(r"[0-9a-f]*")


def _rendered_map(values: Mapping[str, str]) -> str:
    """A map as the template writes it, values pasted between quotes (in the map's order: whether
    that is the template's sorted order is checked once per name set by `_sorted_names`)."""
    return '{"' + '", "'.join(map('": "'.join, values.items())) + '"}' if values else "{}"


def _rendered_alert(alert: Mapping[str, Any]) -> str:
    labels = f',"labels": {_rendered_map(alert["labels"])}' if "labels" in alert else ""
    annotations = f',"annotations": {_rendered_map(alert["annotations"])}' if "annotations" in alert else ""
    return (
        f'{{"status": "{alert["status"]}"{labels}{annotations},"startsAt": "{alert["startsAt"]}"'
        f',"endsAt": "{alert["endsAt"]}","generatorURL": "{alert["generatorURL"]}"'
        f',"fingerprint": "{alert["fingerprint"]}"}}'
    )


def _reads_as_layout(data: Any, text: str) -> bool:
    """Whether json.loads's reading of `text` is the one `parse` would make, so it can be used.

    It is when the text has no backslash (then every JSON string is the characters between its
    quotes) and is exactly what the template writes for the decoded data: the template's keys in its
    order, strings only, sorted names without duplicates, the same spacing; and what the layout
    regexes require of statuses, fingerprints and names.
    """
    if "\\" in text or type(data) is not dict or tuple(data)[:3] != ("receiver", "status", "alerts"):
        return False
    alerts = data["alerts"]
    tail = tuple(data)[3:]
    if (
        type(alerts) is not list
        or tail != tuple(key for key in _TAIL_KEYS if key in tail)
        or not all(type(alert) is dict and tuple(alert) in _ALERT_KEYS for alert in alerts)
    ):
        return False
    maps = [data[key] for key in tail]
    maps += [alert[key] for alert in alerts for key in ("labels", "annotations") if key in alert]
    if not all(type(values) is dict for values in maps):
        return False
    try:
        rendered = (
            f'{{"receiver": "{data["receiver"]}","status": "{data["status"]}","alerts": ['
            + ", ".join(map(_rendered_alert, alerts))
            + "]"
            + "".join(f',"{key}": {_rendered_map(data[key])}' for key in tail)
            + "}"
        )
    except TypeError:
        return False  # a map value that is no string
    if rendered != text.strip():
        return False
    # Equal text: every value the template quotes is a string, and no name came twice (json.loads
    # would have kept one). Now what the layout's regexes demand.
    return (
        data["status"] in _STATUSES
        and {alert["status"] for alert in alerts} <= _STATUSES
        and _HEX.fullmatch("".join(alert["fingerprint"] for alert in alerts)) is not None
        and all(not values or _sorted_names(tuple(values)) for values in maps)
    )


def from_json(data: Any, text: str, *, subject: SubjectInfo | None, truncated: bool) -> AlertGroup | None:
    """`parse` of a message in this layout that is also valid JSON, from what json.loads made of it;
    None when that may read differently (then `parse` reads it by layout).

    A fast path: json.loads reads the text in C, the layout regex per alert took most of the parse.
    """
    if not _reads_as_layout(data, text):
        return None
    raws: list[RawAlert] = []
    for alert in data["alerts"]:
        try:
            starts, ends = parse_time(alert["startsAt"]), parse_time(alert["endsAt"])
        except ValueError as exc:
            raise FormatError(f"AMP JSON: alert {len(raws) + 1}: {exc}") from exc
        raws.append(
            RawAlert(
                status=_STATUS_OF[alert["status"]],
                # json.loads made these dicts and nothing else keeps them: handed over (RawAlert).
                labels=alert.get("labels", {}),
                annotations=alert.get("annotations", {}),
                starts_at=starts,
                ends_at=ends,
                generator_url=alert["generatorURL"],
                fingerprint=alert["fingerprint"],
            )
        )
    return build_group(
        raws,
        source_format=SourceFormat.AMP_JSON,
        warnings=[],
        status=Status(data["status"]),
        receiver=data["receiver"],
        group_labels=data.get("groupLabels", {}),
        common_labels=data.get("commonLabels", {}),
        common_annotations=data.get("commonAnnotations", {}),
        truncated=truncated,
        subject=subject,
    )


_Fields = tuple[str, str | None, str | None, str, str, str, str, int]
"""What `_ALERT` reads: status, labels, annotations (None when absent), startsAt, endsAt,
generatorURL, fingerprint, and where the alert ends."""
_LABELS_OPEN = ',"labels": {'
_ANNOTATIONS_OPEN = ',"annotations": {'
_STARTS_OPEN = ',"startsAt": "'
_ENDS_OPEN = '","endsAt": "'
_URL_OPEN = '","generatorURL": "'
_FINGERPRINT_OPEN = '","fingerprint": "'
_FINGERPRINT_END = re.compile(r'","fingerprint": "([0-9a-f]*)"\}(?=, \{"status": |\]|\Z)')


def _close(text: str, start: int, followers: tuple[str, ...]) -> int:
    """The first `}` from `start` on that one of `followers` follows, or -1."""
    close = text.find("}", start)
    while close != -1 and not text.startswith(followers, close + 1):
        close = text.find("}", close + 1)
    return close


def _alert_at(text: str, position: int) -> _Fields | None:
    """`_ALERT.match(text, position)` by str.find, for speed: its lazy groups scan character by
    character, most of the parse. At each lazy group this takes the regex's first choice (the nearest
    end that what follows can start from); when that path completes, it is the regex's match. None
    when it does not: only the regex's backtracking can tell then."""
    for status in ("firing", "resolved"):
        opening = f'{{"status": "{status}"'
        if text.startswith(opening, position):
            break
    else:
        return None
    at = position + len(opening)
    labels = annotations = None
    if text.startswith(_LABELS_OPEN, at):
        start = at + len(_LABELS_OPEN)
        at = _close(text, start, (_ANNOTATIONS_OPEN, _STARTS_OPEN))
        if at == -1:
            return None
        labels, at = text[start:at], at + 1
    if text.startswith(_ANNOTATIONS_OPEN, at):
        start = at + len(_ANNOTATIONS_OPEN)
        at = _close(text, start, (_STARTS_OPEN,))
        if at == -1:
            return None
        annotations, at = text[start:at], at + 1
    if not text.startswith(_STARTS_OPEN, at):
        return None
    starts_at = at + len(_STARTS_OPEN)
    quote = text.find('"', starts_at)
    if quote == -1 or not text.startswith(_ENDS_OPEN, quote):
        return None
    ends_at, starts_end = quote + len(_ENDS_OPEN), quote
    quote = text.find('"', ends_at)
    if quote == -1 or not text.startswith(_URL_OPEN, quote):
        return None
    url_at, ends_end = quote + len(_URL_OPEN), quote
    url_end = text.find(_FINGERPRINT_OPEN, url_at)
    end = _FINGERPRINT_END.match(text, url_end) if url_end != -1 else None
    if end is None:
        return None
    return (
        status,
        labels,
        annotations,
        text[starts_at:starts_end],
        text[ends_at:ends_end],
        text[url_at:url_end],
        end.group(1),
        end.end(),
    )


def _alert_by_regex(text: str, position: int) -> _Fields | None:
    match = _ALERT.match(text, position)
    if match is None:
        return None
    group = match.group
    return (
        group("status"),
        group("labels"),
        group("annotations"),
        group("starts"),
        group("ends"),
        group("url"),
        group("fingerprint"),
        match.end(),
    )


def parse(text: str, *, subject: SubjectInfo | None, truncated: bool, valid_json: bool = False) -> AlertGroup:
    head = _HEAD.match(text)
    if head is None:
        raise FormatError("AMP JSON: the message does not start like AMP's JSON template")
    warnings: list[str] = (
        []
        if valid_json
        else ["message is not valid JSON (AMP's template does not escape values); read by layout"]
    )
    raws: list[RawAlert] = []
    position = head.end()
    cut = False
    while True:
        if text.startswith("]", position):
            break
        if raws:
            if not text.startswith(", ", position):
                cut = True
                break
            position += 2
        fields = _alert_at(text, position) or _alert_by_regex(text, position)
        if fields is None:
            cut = True
            break
        status, labels, annotations, starts, ends, url, fingerprint, position = fields
        try:
            raws.append(
                RawAlert(
                    status=_STATUS_OF[status],
                    labels=pairs(labels or ""),
                    annotations=pairs(annotations or ""),
                    starts_at=parse_time(starts),
                    ends_at=parse_time(ends),
                    generator_url=url,
                    fingerprint=fingerprint,
                )
            )
        except ValueError as exc:
            raise FormatError(f"AMP JSON: alert {len(raws) + 1}: {exc}") from exc
    tail = None if cut else _TAIL.fullmatch(text, position)
    if tail is None:
        cut = True
    if cut and not truncated:
        warnings.append("message ends before its alert list closes although it is not marked truncated")
    if cut and not raws:
        raise FormatError("AMP JSON: the message was cut before the first complete alert")
    return build_group(
        raws,
        source_format=SourceFormat.AMP_JSON,
        warnings=warnings,
        status=Status(head.group("status")),
        receiver=head.group("receiver"),
        group_labels=pairs(tail.group("group") or "") if tail else None,
        common_labels=pairs(tail.group("common") or "") if tail else None,
        common_annotations=pairs(tail.group("annotations") or "") if tail else None,
        truncated=truncated or cut,
        subject=subject,
    )
