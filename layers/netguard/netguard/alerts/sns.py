"""From what Lambda or an HTTP subscription receives to `SnsMessage`s.

`sns_messages_from_event` reads a Lambda SNS event; `load_sns_file` also accepts an SNS HTTP
notification, an SQS event whose bodies are SNS notifications, or a raw message body (what
Alertmanager published), which is what `netguard parse FILE` reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from netguard.alerts.errors import NotAnSnsEvent
from netguard.alerts.models import SnsMessage, frozen_map


def _attributes(raw: Any) -> dict[str, str]:
    """`{name: {Type, Value}}` (Lambda and HTTP) or `{name: value}` to `{name: value}`."""
    if not isinstance(raw, Mapping):
        return {}
    result: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, Mapping):
            inner = value.get("Value", value.get("StringValue", ""))
            result[str(name)] = "" if inner is None else str(inner)
        elif value is not None:
            result[str(name)] = str(value)
    return result


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def message_from_notification(sns: Mapping[str, Any]) -> SnsMessage:
    """One `Sns` record of a Lambda event, or an SNS HTTP/SQS notification document."""
    return SnsMessage(
        message=_text(sns.get("Message")),
        subject=_text(sns.get("Subject")),
        attributes=frozen_map(_attributes(sns.get("MessageAttributes"))),
        message_id=_text(sns.get("MessageId")),
        topic_arn=_text(sns.get("TopicArn")),
        timestamp=_text(sns.get("Timestamp")),
    )


def sns_messages_from_event(event: Mapping[str, Any]) -> list[SnsMessage]:
    """Every SNS record of a Lambda event; raises `NotAnSnsEvent` for anything else."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        keys = ", ".join(sorted(map(str, event))[:8]) if isinstance(event, Mapping) else type(event).__name__
        raise NotAnSnsEvent(f"not a Lambda SNS event: no Records list (has: {keys or 'nothing'})")
    messages: list[SnsMessage] = []
    for index, record in enumerate(records):
        sns = record.get("Sns") if isinstance(record, Mapping) else None
        if not isinstance(sns, Mapping):
            source = (
                record.get("EventSource") or record.get("eventSource")
                if isinstance(record, Mapping)
                else None
            )
            raise NotAnSnsEvent(f"record {index} is not an SNS record (event source: {source or 'unknown'})")
        messages.append(message_from_notification(sns))
    return messages


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
