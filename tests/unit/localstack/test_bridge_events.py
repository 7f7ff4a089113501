"""The SNS → Lambda bridge: event sources from template.yaml, and the Lambda events it builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netguard_cli.localstack.bridge import (
    BridgeError,
    EventSource,
    QueueBinding,
    WorkerSpec,
    event_sources,
    poll_once,
    sns_event,
    spec_from_json,
    spec_to_json,
    sqs_event,
)

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"

MINI = """
Conditions:
  Critical: !Equals [!Ref Scope, critical]
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/pager/
      Events:
        Paged:
          Type: SNS
          Properties:
            Topic: !Ref Topic
            FilterPolicy: !If [Critical, {severity: [critical]}, {severity: [critical, warning]}]
        Later:
          Type: SQS
          Properties:
            Queue: !GetAtt Later.Arn
  Other: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layers/x/}}
"""


class TestEventSources:
    @pytest.mark.parametrize(
        ("critical", "policy"),
        [(True, {"severity": ["critical"]}), (False, {"severity": ["critical", "warning"]})],
    )
    def test_if_resolved_by_condition(self, critical: bool, policy: dict[str, list[str]]) -> None:
        """`!If` filter policies follow the condition the local stack chooses; SQS sources are kept."""
        assert event_sources(MINI, {"Critical": critical}) == [
            EventSource("pager", "Paged", "sns", "Topic", policy),
            EventSource("pager", "Later", "sqs", "Later"),
        ]

    def test_unknown_condition(self) -> None:
        """A condition the stack has no value for is an error, not a silent branch."""
        with pytest.raises(BridgeError, match="Critical"):
            event_sources(MINI, {})

    def test_shipped_template(self) -> None:
        """template.yaml wires enrich to the alerts topic and the others to the enriched topic."""
        sources = event_sources(TEMPLATE.read_text(), {"PageCriticalOnly": True})
        by_function: dict[str, set[str]] = {}
        for source in sources:
            by_function.setdefault(source.function, set()).add(source.resource)
        assert by_function["enrich"] == {"AlertsTopic"}
        assert by_function["notify_slack"] == {"EnrichedTopic"}
        assert by_function["notify_pagerduty"] == {"EnrichedTopic"}
        assert by_function["remediate"] == {"EnrichedTopic", "FollowUpQueue"}
        remediate = next(s for s in sources if s.function == "remediate" and s.kind == "sns")
        assert remediate.filter_policy is not None
        assert remediate.filter_policy["allowance"] == ["linklocal"]


ENVELOPE = {
    "Type": "Notification",
    "MessageId": "m-1",
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:EnrichedTopic",
    "Message": '{"schema": "x"}',
    "Timestamp": "2026-11-26T00:00:00.000Z",
    "SignatureVersion": "2",
    "Signature": "c2ln",
    "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
    "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    "MessageAttributes": {"event_type": {"Type": "String", "Value": "alert_group"}},
}


class TestLambdaEvents:
    def test_sns_record_shape(self) -> None:
        """The record has Lambda's field names (SigningCertUrl, not SigningCertURL) and keeps attributes."""
        record = sns_event(ENVELOPE, "arn:sub", "us-east-1")["Records"][0]
        assert record["EventSource"] == "aws:sns"
        assert record["EventSubscriptionArn"] == "arn:sub"
        sns = record["Sns"]
        assert sns["SigningCertUrl"] == ENVELOPE["SigningCertURL"]
        assert sns["UnsubscribeUrl"] == ENVELOPE["UnsubscribeURL"]
        assert sns["Subject"] is None
        assert sns["MessageAttributes"] == ENVELOPE["MessageAttributes"]
        assert sns["Message"] == ENVELOPE["Message"]

    def test_sqs_records(self) -> None:
        """SQS messages become Lambda SQS records with camel-cased attributes."""
        message = {
            "MessageId": "q-1",
            "ReceiptHandle": "rh",
            "Body": "{}",
            "Attributes": {"ApproximateReceiveCount": "1"},
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "verify"}},
            "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        }
        record = sqs_event([message], "arn:aws:sqs:us-east-1:1:q", "us-east-1")["Records"][0]
        assert record["eventSource"] == "aws:sqs"
        assert record["messageId"] == "q-1"
        assert record["messageAttributes"]["kind"]["stringValue"] == "verify"
        assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:1:q"

    def test_spec_round_trip(self) -> None:
        """A worker spec survives the JSON file the stack hands to the worker process."""
        spec = WorkerSpec(
            "enrich", (QueueBinding("enrich/Alerts", "sns", "http://q", "arn:q", "arn:s"),), "/j"
        )
        assert spec_from_json(spec_to_json(spec)) == spec


class FakeSqs:
    """Just enough of an SQS client for `poll_once`."""

    def __init__(self, messages: list[dict[str, object]]) -> None:
        self.messages = messages
        self.deleted: list[str] = []

    def receive_message(self, **_: object) -> dict[str, object]:
        batch, self.messages = self.messages, []
        return {"Messages": batch}

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803 -- boto3's names
        self.deleted.append(ReceiptHandle)


def _sqs_message(receipt: str, count: int = 1) -> dict[str, object]:
    return {
        "MessageId": receipt,
        "ReceiptHandle": receipt,
        "Body": json.dumps(ENVELOPE),
        "Attributes": {"ApproximateReceiveCount": str(count)},
    }


class TestPollOnce:
    def _spec(self, tmp_path: Path, kind: str = "sns") -> WorkerSpec:
        binding = QueueBinding("f/E", kind, "http://q", "arn:q", "arn:s")
        return WorkerSpec("f", (binding,), str(tmp_path / "journal.jsonl"))

    def test_success_deletes_and_journals(self, tmp_path: Path) -> None:
        """One invocation per SNS message; handled messages are deleted; the journal says so."""
        sqs = FakeSqs([_sqs_message("a"), _sqs_message("b")])
        calls: list[object] = []

        def invoke(function: str, event: object) -> dict[str, int]:
            calls.append(event)
            return {"ok": 1}

        handled = poll_once(self._spec(tmp_path), sqs, invoke)
        assert handled == 2
        assert len(calls) == 2
        assert sqs.deleted == ["a", "b"]
        lines = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_text().splitlines()]
        assert [x["ok"] for x in lines] == [True, True]
        assert lines[0]["attributes"] == {"event_type": "alert_group"}

    def test_failure_is_retried_then_dropped(self, tmp_path: Path) -> None:
        """A failing handler leaves the message for a retry, and gives up after the third receive."""

        def boom(function: str, event: object) -> object:
            raise RuntimeError("handler failed")

        sqs = FakeSqs([_sqs_message("first", 1), _sqs_message("last", 3)])
        poll_once(self._spec(tmp_path), sqs, boom)
        assert sqs.deleted == ["last"]
        lines = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_text().splitlines()]
        assert [(x["ok"], x["gave_up"]) for x in lines] == [(False, False), (False, True)]
        assert "handler failed" in lines[0]["error"]

    def test_batch_item_failures_kept(self, tmp_path: Path) -> None:
        """SQS sources honour ReportBatchItemFailures: only the failed message stays."""
        sqs = FakeSqs([_sqs_message("ok"), _sqs_message("bad")])
        result = {"batchItemFailures": [{"itemIdentifier": "bad"}]}
        poll_once(self._spec(tmp_path, "sqs"), sqs, lambda f, e: result)
        assert sqs.deleted == ["ok"]
