"""From what Lambda or an HTTP subscription receives to `SnsMessage`s.

`sns_messages_from_event` reads a Lambda SNS event; `load_sns_file` also accepts an SNS HTTP
notification, an SQS event whose bodies are SNS notifications, or a raw message body (what
Alertmanager published), which is what `netguard parse FILE` reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSMessage, SNSMessageAttribute

from netguard.alerts.errors import NotAnSnsEvent
from netguard.alerts.models import SnsMessage, frozen_map


def _attributes(raw: Any) -> dict[str, str]:
    """`{name: {Type, Value}}` (Lambda and HTTP) or `{name: value}` to `{name: value}`.

    AMP's `truncated` / `modified` attributes arrive here; Powertools' `SNSMessageAttribute` reads
    the `{Type, Value}` form, and the bare form (hand-made test events, other publishers) is kept too.
    """
    if not isinstance(raw, Mapping):
        return {}
    result: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, Mapping):
            attribute = SNSMessageAttribute(dict(value))
            inner = attribute.get("Value", attribute.get("StringValue", ""))
            result[str(name)] = "" if inner is None else str(inner)
        elif value is not None:
            result[str(name)] = str(value)
    return result


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def message_from_notification(sns: Mapping[str, Any]) -> SnsMessage:
    """One `Sns` record of a Lambda event, or an SNS HTTP/SQS notification document (same fields).

    Read through Powertools' `SNSMessage`; every field is optional here (`get`), because a record
    missing one must still reach the intake and be reported, never raise and be lost.
    """
    note = sns if isinstance(sns, SNSMessage) else SNSMessage(dict(sns))
    return SnsMessage(
        message=_text(note.get("Message")),
        subject=_text(note.get("Subject")),
        attributes=frozen_map(_attributes(note.get("MessageAttributes"))),
        message_id=_text(note.get("MessageId")),
        topic_arn=_text(note.get("TopicArn")),
        timestamp=_text(note.get("Timestamp")),
    )


def sns_messages_from_event(event: Mapping[str, Any]) -> list[SnsMessage]:
    """Every SNS record of a Lambda event (Powertools' `SNSEvent`); `NotAnSnsEvent` for anything else."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        keys = ", ".join(sorted(map(str, event))[:8]) if isinstance(event, Mapping) else type(event).__name__
        raise NotAnSnsEvent(f"not a Lambda SNS event: no Records list (has: {keys or 'nothing'})")
    for index, record in enumerate(records):
        if not isinstance(record, Mapping) or not isinstance(record.get("Sns"), Mapping):
            source = (
                record.get("EventSource") or record.get("eventSource")
                if isinstance(record, Mapping)
                else None
            )
            raise NotAnSnsEvent(f"record {index} is not an SNS record (event source: {source or 'unknown'})")
    return [message_from_notification(record.sns) for record in SNSEvent(dict(event)).records]


def _is_sns_notification(data: Mapping[str, Any]) -> bool:
    return data.get("Type") == "Notification" and "Message" in data and "TopicArn" in data


def load_sns_file(text: str) -> list[SnsMessage]:
    """A Lambda SNS event, an SQS event carrying SNS notifications, an SNS HTTP notification, or a
    raw message body (anything else, including an SNS SubscriptionConfirmation, which the intake then
    reports as unparseable)."""
    try:
        data = json.loads(text)
    except ValueError:
        return [SnsMessage(message=text)]
    if isinstance(data, Mapping):
        if isinstance(data.get("Records"), list):
            records = data["Records"]
            if records and all(isinstance(r, Mapping) and "body" in r for r in records):
                return [_from_sqs_body(str(r["body"])) for r in records]
            return sns_messages_from_event(data)
        if _is_sns_notification(data):
            return [message_from_notification(data)]
    return [SnsMessage(message=text)]


def _from_sqs_body(body: str) -> SnsMessage:
    try:
        data = json.loads(body)
    except ValueError:
        return SnsMessage(message=body)
    if isinstance(data, Mapping) and _is_sns_notification(data):
        return message_from_notification(data)
    return SnsMessage(message=body)
