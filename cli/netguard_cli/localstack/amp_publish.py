"""What AMP's alert manager would publish to SNS for a message: used by `netguard local publish`.

Pure. Reads a file a user has (a Lambda SNS event like events/sns-*.json, whose records carry
`Subject`, `Message` and `MessageAttributes`, or a raw message body) and applies what AMP does
before `sns:Publish`: the subject is cut to 100 characters, a message over 256 KB is cut there with
the attributes `truncated=true` and `modified=Message: Error - Message has been truncated from X KB
to 256 KB`, and an empty or non-UTF-8 message is replaced by an error text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from netguard.errors import NetguardError

SUBJECT_LIMIT = 100
MESSAGE_LIMIT = 256 * 1024
REPLACED_MESSAGE = "Error - the alert manager produced an empty or non-UTF-8 message"
"""AMP's documentation says such messages are replaced by an error text without quoting it."""


class PublishInputError(NetguardError):
    """The file holds nothing that can be published."""


@dataclass(frozen=True)
class Publication:
    message: str
    subject: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    """What AMP's rules changed, for the user."""


def _cut_utf8(data: bytes, limit: int) -> str:
    """At most `limit` bytes, never splitting a character."""
    return data[:limit].decode("utf-8", errors="ignore")


def as_amp(
    message: bytes | str, subject: str | None = None, attributes: Mapping[str, str] | None = None
) -> Publication:
    """`message` as AMP would publish it."""
    attrs = dict(attributes or {})
    notes: list[str] = []
    modified: list[str] = []
    data = message.encode("utf-8") if isinstance(message, str) else message
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if not text:
        text = REPLACED_MESSAGE
        notes.append("the message was empty or not UTF-8: replaced by an error text, as AMP does")
    elif len(data) > MESSAGE_LIMIT:
        text = _cut_utf8(data, MESSAGE_LIMIT)
        attrs["truncated"] = "true"
        modified.append(
            f"Message: Error - Message has been truncated from {len(data) // 1024} KB "
            f"to {MESSAGE_LIMIT // 1024} KB"
        )
        notes.append(f"message of {len(data)} bytes cut to {len(text.encode())} (truncated=true)")
    if subject is not None and len(subject) > SUBJECT_LIMIT:
        notes.append(f"subject of {len(subject)} characters cut to {SUBJECT_LIMIT}")
        subject = subject[:SUBJECT_LIMIT]
        # AMP sets `modified` for a cut subject too; its wording is not documented, and must not say
        # "truncated" (that word marks a truncated *message* for the intake).
        modified.append(f"Subject: shortened to {SUBJECT_LIMIT} characters")
    if modified:
        attrs["modified"] = "; ".join([attrs["modified"], *modified] if attrs.get("modified") else modified)
    return Publication(text, subject or None, attrs, tuple(notes))


def _attribute_values(raw: object) -> dict[str, str]:
    """Lambda's `{name: {Type, Value}}` (or plain `{name: value}`) as `{name: value}`."""
    if not isinstance(raw, Mapping):
        return {}
    out = {}
    for name, raw_value in raw.items():
        value = raw_value
        if isinstance(raw_value, Mapping):
            value = raw_value.get("Value", raw_value.get("StringValue"))
        if value is not None:
            out[str(name)] = str(value)
    return out


def parse_replacement(text: str) -> tuple[str, str]:
    """`OLD=NEW` (for `--replace`)."""
    old, sep, new = text.partition("=")
    if not sep or not old:
        raise PublishInputError(f"--replace wants OLD=NEW, got {text!r}")
    return old, new


def _replaced(text: str, replacements: Sequence[tuple[str, str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def read_publications(
    data: bytes, *, subject: str | None = None, replacements: Sequence[tuple[str, str]] = ()
) -> list[Publication]:
    """The publications a file stands for: one per SNS record of a Lambda SNS event (or an SNS
    notification/SQS body with `Message`), else the whole file as one raw message. `replacements`
    (OLD, NEW) apply to each message and subject before AMP's rules, so a message from another
    cluster can name the local stack's cluster and nodes."""

    def _as_amp(
        message: bytes | str, subject: str | None, attributes: Mapping[str, str] | None = None
    ) -> Publication:
        if replacements:
            if isinstance(message, bytes):
                message = message.decode("utf-8", errors="surrogateescape")
            message = _replaced(message, replacements).encode("utf-8", errors="surrogateescape")
            subject = _replaced(subject, replacements) if subject is not None else None
        return as_amp(message, subject, attributes)

    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        document = None
    records = document.get("Records") if isinstance(document, Mapping) else None
    if isinstance(records, list):
        out = []
        for index, record in enumerate(records):
            sns = record.get("Sns") if isinstance(record, Mapping) else None
            if not isinstance(sns, Mapping) or "Message" not in sns:
                raise PublishInputError(f"record {index} is not an SNS record (no Sns.Message)")
            out.append(
                _as_amp(
                    str(sns.get("Message") or ""),
                    subject if subject is not None else sns.get("Subject"),
                    _attribute_values(sns.get("MessageAttributes")),
                )
            )
        if not out:
            raise PublishInputError("the event has no records")
        return out
    if isinstance(document, Mapping) and document.get("Type") == "Notification" and "Message" in document:
        return [
            _as_amp(
                str(document.get("Message") or ""),
                subject if subject is not None else document.get("Subject"),
                _attribute_values(document.get("MessageAttributes")),
            )
        ]
    return [_as_amp(data, subject)]
