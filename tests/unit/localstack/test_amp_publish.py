"""`netguard local publish`: a file becomes what AMP would publish to SNS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netguard.alerts.intake import is_truncated
from netguard.alerts.models import SnsMessage
from netguard_cli.localstack.amp_publish import (
    MESSAGE_LIMIT,
    REPLACED_MESSAGE,
    PublishInputError,
    as_amp,
    parse_replacement,
    read_publications,
)

EVENTS = Path(__file__).resolve().parents[3] / "events"


class TestAsAmp:
    def test_short_message_unchanged(self) -> None:
        publication = as_amp("hello", "[FIRING:1] X", {"a": "b"})
        assert (publication.message, publication.subject, publication.attributes) == (
            "hello",
            "[FIRING:1] X",
            {"a": "b"},
        )
        assert publication.notes == ()

    def test_subject_cut_to_100_without_claiming_truncation(self) -> None:
        publication = as_amp("m", "[FIRING:1] " + "x" * 200)
        assert publication.subject is not None
        assert len(publication.subject) == 100
        assert not is_truncated(SnsMessage(publication.message, publication.subject, publication.attributes))

    def test_message_over_256_kb_cut_with_attributes(self) -> None:
        message = "é" * (MESSAGE_LIMIT // 2 + 10)  # two bytes per character: over the limit
        publication = as_amp(message)
        assert len(publication.message.encode()) <= MESSAGE_LIMIT
        assert len(publication.message.encode()) >= MESSAGE_LIMIT - 1  # never splits a character
        assert publication.attributes["truncated"] == "true"
        assert publication.attributes["modified"].startswith(
            "Message: Error - Message has been truncated from"
        )
        assert is_truncated(SnsMessage(publication.message, "", publication.attributes))

    @pytest.mark.parametrize("raw", [b"", b"\xff\xfe\x00binary"])
    def test_empty_or_not_utf8_replaced(self, raw: bytes) -> None:
        assert as_amp(raw).message == REPLACED_MESSAGE


class TestReadPublications:
    def test_lambda_sns_event(self) -> None:
        """Subject, Message and MessageAttributes come from the record."""
        raw = (EVENTS / "sns-amp-json-truncated.json").read_bytes()
        [publication] = read_publications(raw)
        sns = json.loads(raw)["Records"][0]["Sns"]
        assert publication.message == sns["Message"]
        assert publication.subject == sns["Subject"]
        assert publication.attributes == {"truncated": "true"}

    def test_subject_override(self) -> None:
        raw = (EVENTS / "sns-amp-json-firing.json").read_bytes()
        assert read_publications(raw, subject="[FIRING:9] mine")[0].subject == "[FIRING:9] mine"

    def test_raw_message(self) -> None:
        """A file that is not an SNS event is the message itself (any format the intake reads)."""
        [publication] = read_publications(b'{"receiver": "x", "alerts": []}')
        assert publication.message == '{"receiver": "x", "alerts": []}'
        assert publication.subject is None

    def test_record_without_sns_is_an_error(self) -> None:
        with pytest.raises(PublishInputError, match="record 0 is not an SNS record"):
            read_publications(b'{"Records": [{"body": "sqs"}]}')

    def test_replacements_retarget_a_message(self) -> None:
        """`--replace prod=netguard-local`: the message and subject name the local cluster."""
        raw = (EVENTS / "sns-amp-json-firing.json").read_bytes()
        [publication] = read_publications(
            raw,
            subject="[FIRING:2] prod",
            replacements=[("prod", "netguard-local"), ("10.0.2.7", "10.0.2.23")],
        )
        assert '"cluster": "netguard-local"' in publication.message
        assert '"cluster": "prod"' not in publication.message
        assert "10.0.2.23" in publication.message
        assert publication.subject == "[FIRING:2] netguard-local"

    @pytest.mark.parametrize("bad", ["noequals", "=new"])
    def test_bad_replacement(self, bad: str) -> None:
        with pytest.raises(PublishInputError, match="OLD=NEW"):
            parse_replacement(bad)
