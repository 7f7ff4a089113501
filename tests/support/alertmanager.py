"""A real Alertmanager publishing to SNS in a moto server, and what it published, for intake tests.

`sns_capture` creates a topic with an SQS queue subscribed (RawMessageDelivery=false, so each queue
message is the SNS notification with Message, Subject and MessageAttributes); `start_sns_alertmanager`
starts Debian's Alertmanager whose `sns_configs.api_url` points at the moto server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from netguard.alerts import SnsMessage
from netguard.alerts.sns import message_from_notification
from netguard_cli.localstack.alertmanager import RunningAlertmanager, start_alertmanager
from tests.support.aws import REGION, MotoServer


@dataclass
class SnsCapture:
    endpoint: str
    topic_arn: str
    queue_url: str
    sqs: Any

    def wait(self, count: int = 1, *, timeout: float = 30.0) -> list[SnsMessage]:
        """The next `count` notifications published to the topic, oldest first."""
        return [message_from_notification(body) for body in self.wait_raw(count, timeout=timeout)]

    def wait_raw(self, count: int = 1, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The next `count` SNS notification documents (Type, Message, Subject, MessageAttributes...)."""
        got: list[tuple[str, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=10
            )
            for item in reply.get("Messages", []):
                body = json.loads(item["Body"])
                got.append((body.get("Timestamp", ""), body))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=item["ReceiptHandle"])
        if len(got) < count:
            raise AssertionError(f"expected {count} SNS notifications within {timeout:.0f}s, got {len(got)}")
        return [body for _, body in sorted(got, key=lambda pair: pair[0])]

    def wait_for(self, predicate: Callable[[SnsMessage], bool], *, timeout: float = 30.0) -> dict[str, Any]:
        """The first notification (as a document) whose message satisfies `predicate`; earlier ones are
        skipped (Alertmanager flushes a group at once when its alerts started before `group_wait`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                (body,) = self.wait_raw(1, timeout=max(1.0, deadline - time.monotonic()))
            except AssertionError:
                break
            if predicate(message_from_notification(body)):
                return body
        raise AssertionError(f"no SNS notification matched within {timeout:.0f}s")

    def sns_config(self, **extra: Any) -> dict[str, Any]:
        """An Alertmanager `sns_configs` entry publishing to this topic through the moto server."""
        return {
            "api_url": self.endpoint,
            "topic_arn": self.topic_arn,
            "sigv4": {"region": REGION, "access_key": "test", "secret_key": "test"},
            **extra,
        }


def create_capture(endpoint: str, *, topic: str = "netguard-alerts") -> SnsCapture:
    """A topic in the SNS at `endpoint` with an SQS queue subscribed that keeps SNS's envelope."""
    keys = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    sns = boto3.client("sns", **keys)  # type: ignore[call-overload]
    sqs = boto3.client("sqs", **keys)  # type: ignore[call-overload]
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{topic}-capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"}
    )
    return SnsCapture(endpoint=endpoint, topic_arn=topic_arn, queue_url=queue_url, sqs=sqs)


@pytest.fixture
def sns_capture(aws_env: MotoServer) -> SnsCapture:
    return create_capture(aws_env.url)


def route(**overrides: Any) -> dict[str, Any]:
    """A fast route for tests: group by alertname, flush after 1 s, re-flush changes after 2 s."""
    return {
        "receiver": "sns",
        "group_by": ["alertname"],
        "group_wait": "1s",
        "group_interval": "2s",
        "repeat_interval": "1h",
        **overrides,
    }


StartAlertmanager = Callable[..., RunningAlertmanager]


@pytest.fixture
def start_sns_alertmanager(sns_capture: SnsCapture, tmp_path: Path) -> Iterator[StartAlertmanager]:
    """`start(sns_extra={...}, templates={...})`: an Alertmanager whose one receiver `sns` publishes
    to `sns_capture`'s topic; stopped at the end of the test."""
    started: list[RunningAlertmanager] = []

    def start(
        *,
        sns_extra: Mapping[str, Any] | None = None,
        templates: Mapping[str, str] | None = None,
        **route_extra: Any,
    ) -> RunningAlertmanager:
        config = {
            "route": route(**route_extra),
            "receivers": [{"name": "sns", "sns_configs": [sns_capture.sns_config(**dict(sns_extra or {}))]}],
            "templates": list(templates or {}),
        }
        running = start_alertmanager(config, workdir=tmp_path / f"am{len(started)}", templates=templates)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def api_alert(
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
    *,
    starts_at: datetime | None = None,
    resolved: bool = False,
    generator_url: str = "http://prometheus.local/graph?g0.expr=up",
) -> dict[str, Any]:
    """An alert in the `/api/v2/alerts` shape; resolved ones end 1 ms ago."""
    # Recent enough that Alertmanager waits `group_wait` before the first flush (an alert that started
    # earlier than that makes it flush at once, possibly before the rest of the batch arrived).
    now = datetime.now(UTC)
    start = starts_at or now.replace(microsecond=now.microsecond // 1000 * 1000) - timedelta(seconds=resolved)
    body: dict[str, Any] = {
        "labels": dict(labels),
        "annotations": dict(annotations or {}),
        "startsAt": start.isoformat().replace("+00:00", "Z"),
        "generatorURL": generator_url,
    }
    if resolved:
        body["endsAt"] = (datetime.now(UTC) - timedelta(milliseconds=1)).isoformat().replace("+00:00", "Z")
    return body
