"""`netguard invoke` runs a real handler once, in a fresh process, against what the environment names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netguard.clients import aws
from netguard_cli.commands.invoke import LambdaContext
from tests.support.aws import MotoServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _netguard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netguard_cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=120,
    )


def test_invoke_enrich_publishes_the_enriched_event(
    aws_env: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample AMP JSON event, through the enrich handler, lands on the enriched topic."""
    sns, sqs, ddb = aws.client("sns"), aws.client("sqs"), aws.client("dynamodb")
    topic = sns.create_topic(Name="enriched-cli")["TopicArn"]
    queue = sqs.create_queue(QueueName="enriched-cli")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    ddb.create_table(
        TableName="state-cli",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    monkeypatch.setenv("ENRICHED_TOPIC_ARN", topic)
    monkeypatch.setenv("STATE_TABLE", "state-cli")
    # No reachable cluster: the Kubernetes look-ups fail fast and become enrichment errors.
    monkeypatch.setenv("CLUSTERS", json.dumps({"prod": {"kubeconfig": str(ROOT / "no-such-kubeconfig")}}))
    monkeypatch.setenv("DEFAULT_CLUSTER", "prod")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Netguard")

    result = _netguard("invoke", "enrich", "events/sns-amp-json-firing.json")

    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert summary["messages"] == 1
    assert summary["alerts"] == 2
    assert summary["published"] == 1
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get(
        "Messages", []
    )
    (published,) = [json.loads(m["Body"]) for m in messages]
    assert published["schema"] == "netguard.enriched/v1"
    assert published["event_type"] == "alert_group"
    assert len(published["alerts"]) == 2
    # The cluster could not be reached and the sample's instances are not in this EC2: both are
    # reported on the event, which is published all the same.
    assert {e["source"] for e in published["enrichment_errors"]} == {"eks", "ec2"}


def test_invoke_names_the_functions_it_has() -> None:
    result = _netguard("invoke", "no_such_function", "events/sns-amp-json-firing.json")
    assert result.returncode != 0
    assert "enrich" in result.stderr
    assert "remediate" in result.stderr


def test_unreadable_event_file_is_one_line_and_nonzero() -> None:
    result = _netguard("invoke", "enrich", "events/does-not-exist.json")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "cannot read" in result.stderr


def test_context_counts_down_from_its_timeout() -> None:
    context = LambdaContext(function_name="netguard-enrich", timeout_seconds=2.0)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    assert 0 < context.get_remaining_time_in_millis() < first <= 2000
    assert context.invoked_function_arn.endswith(":function:netguard-enrich")
