"""From Lambda events, SNS notifications and raw bodies to `SnsMessage`s."""

from __future__ import annotations

import json
from typing import Any

import pytest

from netguard.alerts import NotAnSnsEvent, SnsMessage, load_sns_file, sns_messages_from_event
from netguard.errors import NetguardError


def _record(message: str, subject: str | None = "[FIRING:1] X", **attributes: str) -> dict[str, Any]:
    return {
        "EventSource": "aws:sns",
        "Sns": {
            "Type": "Notification",
            "MessageId": "m-1",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
            "Subject": subject,
            "Message": message,
            "Timestamp": "2026-11-25T20:36:41.124Z",
            "MessageAttributes": {k: {"Type": "String", "Value": v} for k, v in attributes.items()},
        },
    }


class TestSnsMessagesFromEvent:
    def test_every_record_with_attributes(self) -> None:
        """Message, Subject, attributes (Type/Value flattened), id, topic and time are kept per record."""
        event = {"Records": [_record("one", truncated="true"), _record("two", subject=None)]}
        first, second = sns_messages_from_event(event)
        assert first == SnsMessage(
            message="one",
            subject="[FIRING:1] X",
            attributes={"truncated": "true"},
            message_id="m-1",
            topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
            timestamp="2026-11-25T20:36:41.124Z",
        )
        assert second.subject == ""
        assert second.message == "two"

    @pytest.mark.parametrize(
        ("event", "reason"),
        [
            ({"detail-type": "Scheduled Event"}, "no Records list"),
            ({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, "aws:s3"),
            ({"Records": ["x"]}, "record 0 is not an SNS record"),
        ],
    )
    def test_non_sns_events_raise_a_netguard_error(self, event: dict[str, Any], reason: str) -> None:
        """A non-SNS event is a permanent, clearly worded error."""
        with pytest.raises(NotAnSnsEvent, match=reason) as info:
            sns_messages_from_event(event)
        assert isinstance(info.value, NetguardError)


class TestLoadSnsFile:
    def test_lambda_event(self) -> None:
        """A Lambda SNS event file gives one message per record."""
        text = json.dumps({"Records": [_record("a"), _record("b")]})
        assert [m.message for m in load_sns_file(text)] == ["a", "b"]

    def test_http_notification(self) -> None:
        """An SNS HTTP(S) notification document is read like a record."""
        doc = _record("body", modified="x")["Sns"]
        (message,) = load_sns_file(json.dumps(doc))
        assert (message.message, message.attributes["modified"]) == ("body", "x")

    def test_sqs_event_with_sns_envelopes(self) -> None:
        """An SQS event whose bodies are SNS notifications (RawMessageDelivery off)."""
        body = json.dumps(_record("inner")["Sns"])
        (message,) = load_sns_file(json.dumps({"Records": [{"eventSource": "aws:sqs", "body": body}]}))
        assert message.message == "inner"
        assert message.subject == "[FIRING:1] X"

    @pytest.mark.parametrize(
        "text",
        [
            "Alerts Firing:\nLabels:\n",
            '{"receiver": "x", "alerts": []}',
            '{"Type": "SubscriptionConfirmation"}',
            "",
        ],
    )
    def test_raw_bodies(self, text: str) -> None:
        """Anything else is the message body itself (the intake then decides what it is)."""
        assert load_sns_file(text) == [SnsMessage(message=text)]
