"""`functions/remediate/app.py`: SNS and SQS records reach the service; failures map to Lambda outcomes."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from netguard.enriched import SchemaError, event_to_json
from netguard.errors import PermanentError, RetryableError
from netguard.remediate.service import FollowUp
from netguard_cli.commands.invoke import LambdaContext, load_handler_module
from tests.unit.remediate.fakes import event, linklocal_alert


class FakeService:
    def __init__(self, error: Exception | None = None) -> None:
        self.events: list[Any] = []
        self.follow_ups: list[FollowUp] = []
        self.error = error

    def on_event(self, enriched: Any) -> None:
        self.events.append(enriched)

    def on_follow_up(self, message: FollowUp) -> None:
        if self.error is not None:
            raise self.error
        self.follow_ups.append(message)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_handler_module("remediate")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Netguard")
    return module


def invoke(app: ModuleType, service: FakeService, records: list[dict[str, Any]]) -> Any:
    vars(app)["_service"] = service  # the handler's warm-container service, replaced for this call
    try:
        return app.lambda_handler({"Records": records}, LambdaContext(function_name="netguard-remediate"))
    finally:
        app.reset()


def sqs(body: str, message_id: str = "m1") -> dict[str, Any]:
    return {"eventSource": "aws:sqs", "messageId": message_id, "body": body}


def test_sns_record_is_an_enriched_event(app: ModuleType) -> None:
    service = FakeService()
    enriched = event(linklocal_alert("node-0"))
    invoke(app, service, [{"EventSource": "aws:sns", "Sns": {"Message": event_to_json(enriched)}}])
    assert [e.event_id for e in service.events] == [enriched.event_id]


def test_sns_record_that_is_not_an_event_is_rejected_not_dropped(app: ModuleType) -> None:
    """Raised, so Lambda's failure destination keeps it; nothing reaches the service."""
    service = FakeService()
    with pytest.raises(SchemaError):
        invoke(app, service, [{"EventSource": "aws:sns", "Sns": {"Message": "hello"}}])
    assert service.events == []


def test_sqs_follow_up_and_failures(app: ModuleType) -> None:
    message = FollowUp("prod", "f1", 1.0, "g")
    service = FakeService()
    assert invoke(app, service, [sqs(message.to_json())]) == {"batchItemFailures": []}
    assert service.follow_ups == [message]
    # A follow-up it cannot read goes back to SQS (and after maxReceiveCount to the DLQ).
    assert invoke(app, FakeService(), [sqs(json.dumps({"kind": "other"}), "m3")]) == {
        "batchItemFailures": [{"itemIdentifier": "m3"}]
    }
    retried = invoke(app, FakeService(RetryableError("lock busy")), [sqs(message.to_json(), "m7")])
    assert retried == {"batchItemFailures": [{"itemIdentifier": "m7"}]}


def test_sqs_partial_batch_reports_only_the_failed_record(app: ModuleType) -> None:
    """Powertools' BatchProcessor: good follow-ups are handled, only the bad one goes back to SQS."""
    good, other = FollowUp("prod", "f1", 1.0, "g"), FollowUp("prod", "f2", 1.0, "g")
    service = FakeService()
    records = [sqs(good.to_json(), "m1"), sqs("{not json", "m2"), sqs(other.to_json(), "m3")]
    assert invoke(app, service, records) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert service.follow_ups == [good, other]


def test_record_from_an_unknown_source_is_rejected(app: ModuleType) -> None:
    """Neither SNS nor SQS: raised (the failure destination keeps it), nothing reaches the service."""
    service = FakeService()
    with pytest.raises(PermanentError, match="aws:kinesis"):
        invoke(app, service, [{"eventSource": "aws:kinesis", "messageId": "k1"}])
    assert service.events == []
    assert service.follow_ups == []
