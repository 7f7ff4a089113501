"""The intake dispatcher: one SNS message in, alert groups (or an `Unparseable` with its reason) out.

Formats are tried in a fixed order: valid JSON (webhook / toJson / netguard / clean AMP JSON), AMP's
JSON template with unescaped values, Alertmanager's default text, a JSON message cut short, then
`key: value` lines. Everything else is reported, never dropped. No exception escapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from netguard.alerts import ampjson, jsonmsg, keyvalue, text
from netguard.alerts.errors import FormatError
from netguard.alerts.models import AlertGroup, SnsMessage, SubjectInfo, Unparseable
from netguard.alerts.sns import message_from_notification
from netguard.alerts.subject import parse_subject

_NOT_JSON = object()


def is_truncated(message: SnsMessage) -> bool:
    """AMP sets `truncated=true` (and a `modified` note) on messages it cut at 256 KB."""
    if message.attributes.get("truncated", "").strip().lower() == "true":
        return True
    return "truncated" in message.attributes.get("modified", "").lower()


# Control characters other than tab, newline and carriage return, and the replacement character.
_ODD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def _binary(body: str) -> bool:
    if "\x00" in body:
        return True
    # Counted by a regex in C: a generator over the first 4 KB was 3 % of a large JSON message's parse.
    odd = len(_ODD.findall(body, 0, 4096))
    return odd * 10 > min(len(body), 4096)


def _excerpt(body: str) -> str:
    return repr(body.strip()[:40])


def _from_json(data: Any, message: SnsMessage, subject: SubjectInfo | None, depth: int) -> ParseResult:
    truncated = is_truncated(message)
    if jsonmsg.is_alert_payload(data):
        return [jsonmsg.from_payload(data, subject=subject, truncated=truncated)]
    if isinstance(data, list) and data and all(jsonmsg.is_alert_payload(item) for item in data):
        return [jsonmsg.from_payload(item, subject=subject, truncated=truncated) for item in data]
    if isinstance(data, Mapping):
        kind = data.get("Type")
        if kind in {"SubscriptionConfirmation", "UnsubscribeConfirmation"}:
            return Unparseable(
                f"an SNS {kind} message, not an alert (confirm or ignore the subscription)", message
            )
        if kind == "Notification" and isinstance(data.get("Message"), str) and depth == 0:
            return _parse(message_from_notification(data), depth=1)
        if "AlarmName" in data or "AlarmArn" in data:
            return Unparseable(
                f"a CloudWatch alarm notification ({str(data.get('AlarmName', ''))[:60]!r}), "
                "not an Alertmanager message",
                message,
            )
        keys = ", ".join(sorted(map(str, data))[:8])
        return Unparseable(f"JSON object without an 'alerts' list (keys: {keys or 'none'})", message)
    return Unparseable(f"JSON {type(data).__name__} without an 'alerts' list", message)


ParseResult = list[AlertGroup] | Unparseable


def _parse(message: SnsMessage, depth: int = 0) -> ParseResult:
    body = message.message
    if not body.strip():
        return Unparseable("empty message", message)
    if _binary(body):
        return Unparseable("binary content (control characters or invalid UTF-8), not text", message)
    subject = parse_subject(message.subject) if message.subject else None
    truncated = is_truncated(message)
    stripped = body.lstrip()
    data: Any = _NOT_JSON
    json_error = ""
    if stripped[:1] in {"{", "["}:
        try:
            data = json.loads(body)
        except ValueError as exc:
            json_error = str(exc)
    if ampjson.looks_like(body) and (data is _NOT_JSON or jsonmsg.has_go_times(data)):
        # AMP's template never escapes: even when its output happens to be valid JSON (a value such as
        # `\"`), the characters between the quotes are the value, so read it by layout.
        # When it is valid JSON and provably reads the same, json.loads has done most of the work.
        fast = (
            None if data is _NOT_JSON else ampjson.from_json(data, body, subject=subject, truncated=truncated)
        )
        if fast is not None:
            return [fast]
        return [ampjson.parse(body, subject=subject, truncated=truncated, valid_json=data is not _NOT_JSON)]
    if data is not _NOT_JSON:
        return _from_json(data, message, subject, depth)
    if text.looks_like(body):
        return [text.parse(body, subject=subject, truncated=truncated)]
    if json_error:
        salvaged = jsonmsg.salvage(body)
        if salvaged is not None:
            payload, cut = salvaged
            if not payload["alerts"]:
                return Unparseable("JSON message cut before its first complete alert", message)
            return [jsonmsg.from_payload(payload, subject=subject, truncated=truncated, cut=cut)]
        if truncated:
            return Unparseable("JSON message cut before its first complete alert", message)
        return Unparseable(f"invalid JSON that is no known alert template: {json_error}", message)
    if stripped[:1] == "<" or "<html" in stripped[:2000].lower():
        return Unparseable(f"HTML or XML, not an Alertmanager message (starts {_excerpt(body)})", message)
    if keyvalue.looks_like(body):
        return [keyvalue.parse(body, subject=subject, truncated=truncated)]
    if truncated:
        return Unparseable("message cut before its first complete alert (marked truncated)", message)
    return Unparseable(f"not a known Alertmanager message format (starts {_excerpt(body)})", message)


def parse_message(message: SnsMessage) -> list[AlertGroup] | Unparseable:
    """Every alert group an SNS message holds, or why it holds none. Never raises."""
    try:
        return _parse(message)
    except FormatError as exc:
        return Unparseable(str(exc), message)
    except Exception as exc:  # noqa: BLE001 -- the contract: no exception escapes, no message is lost
        return Unparseable(f"internal parser error ({type(exc).__name__}: {exc})", message)
