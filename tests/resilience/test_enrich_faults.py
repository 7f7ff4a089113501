"""The enrich handler under EC2 throttling, SNS publish failures, DynamoDB throttling, a kill in the
middle of an invocation, and fuzzed input, against the EKS world's moto and the local control plane.

Each alert group must come out as exactly one enriched event id (a copy SNS carries twice has the
same id, which every subscriber's ledger drops), and every message that cannot be read must be kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netguard.enrich.process import IDEMPOTENCY_PK, PARTS_PK
from netguard.enriched import EventType
from netguard.state import DynamoStore, OwnedStore, Owner
from netguard.state.idempotency import stored_key
from tests.integration.test_enrich import (  # noqa: F401 -- `stack` is a fixture
    Stack,
    group_message,
    sns_event,
    stack,
    webhook_alert,
)
from tests.resilience.deliveries import deliver
from tests.resilience.faults import aws_faults
from tests.resilience.ledger import LEDGER, Row
from tests.resilience.strategies import messages as _messages

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

ROOT = Path(__file__).resolve().parents[2]


def _event(stack: Stack) -> dict[str, Any]:
    node = stack.world.nodes[0]
    message = group_message([webhook_alert({"instance": f"{node.internal_ip}:9100"})])
    return sns_event(message, message_id=f"res-{uuid.uuid4().hex}")


def _row(fault: str, deliveries: int, captured: list[Any], *, kept: int = 0, expected: int = 1) -> Row:
    """`published` counts event ids; when SNS carried an id more than once the label says so (each
    subscriber's ledger drops the copy: the duplicate-delivery row shows it)."""
    distinct = len({c.event.event_id for c in captured})
    if len(captured) > distinct:
        fault = f"{fault} [{len(captured)} SNS copies, 1 id]"
    return LEDGER.add(
        Row(
            fault,
            deliveries,
            published=distinct,
            slack_posts=None,
            pd_triggers=None,
            k8s_changes=None,
            kept_failures=kept,
            lost=max(0, expected - distinct - kept),
            twice=max(0, distinct - expected),
        )
    )


def test_ec2_throttled_beyond_the_sdk_retries(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every DescribeInstances answers RequestLimitExceeded: the event goes out, the gap is reported."""
    with aws_faults(monkeypatch) as faults:
        throttle = faults.add("ec2", "DescribeInstances", "RequestLimitExceeded", 503)
        outcome = deliver("enrich", _event(stack))
    captured = stack.drain()
    row = _row("EC2 RequestLimitExceeded (every call)", outcome.deliveries, captured)
    assert throttle.injected >= 3  # botocore's standard mode retried before giving up
    (event,) = captured
    assert [e.source for e in event.event.enrichment_errors] == ["ec2"]
    assert (outcome.deliveries, row.lost, row.twice) == (1, 0, 0)


def test_sns_publish_fails_then_lambda_retries(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """SNS answers 500 to every publish of the first invocation: it raises; the retry publishes once."""
    with aws_faults(monkeypatch) as faults:
        failing = faults.add("sns", "Publish", "InternalError", 500)
        outcome = deliver("enrich", _event(stack), between=lambda _: faults.clear())
    assert failing.injected >= 3
    captured = stack.drain()
    row = _row("SNS Publish 500 (first invocation)", outcome.deliveries, captured)
    assert (outcome.deliveries, len(captured), row.lost, row.twice) == (2, 1, 0, 0)


def test_dynamodb_throttled_then_redelivered(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state table throttles everything in the first invocation; SNS then delivers the message again."""
    event = _event(stack)
    deliveries = 0
    with aws_faults(monkeypatch) as faults:
        for operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"):
            faults.add("dynamodb", operation, "ProvisionedThroughputExceededException", 400)
        deliveries += deliver("enrich", event).deliveries
    first = stack.drain()
    # An SNS duplicate of the same message, once the table answers again: the recorded event is not re-sent
    # (while the table was throttled nothing could be recorded, so the first copy is not lost either).
    deliveries += deliver("enrich", event).deliveries
    captured = first + stack.drain()
    row = _row("DynamoDB throttling (enrich state)", deliveries, captured)
    assert (len(first), row.lost, row.twice) == (1, 0, 0)


_KILL_AFTER_PUBLISH = """
import json, os, sys
import botocore.endpoint
from tests.resilience.faults import _operation
from netguard_cli.commands.invoke import invoke

original = botocore.endpoint.Endpoint._send

def send(self, request):
    response = original(self, request)
    if self._endpoint_prefix == "sns" and _operation(request) == "Publish" and response.status_code == 200:
        os._exit(137)  # the sandbox dies: SNS has the message, netguard's records do not
    return response

botocore.endpoint.Endpoint._send = send
invoke("enrich", json.loads(sys.stdin.read()))
"""


def test_killed_after_publishing_and_retried(stack: Stack) -> None:
    """The sandbox dies right after SNS accepted the event. Lambda's first retry (about 1 minute later)
    finds the in-flight lease and fails; the second (about 3 minutes later, after the in-progress window)
    publishes again with the same event id, which the notifiers' ledgers drop (see the duplicate row)."""
    event = _event(stack)
    message_id = event["Records"][0]["Sns"]["MessageId"]
    killed = subprocess.run(
        [sys.executable, "-c", _KILL_AFTER_PUBLISH],
        input=json.dumps(event),
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=dict(os.environ),
        check=False,
        timeout=120,
    )
    assert killed.returncode == 137, killed.stderr[-2000:]
    after_kill = stack.drain()
    assert len(after_kill) == 1
    deliveries = 1

    def lease_expires(attempt: int) -> None:
        if attempt == 2:  # Lambda's second retry comes after the in-progress window has passed
            # The killed sandbox left the message and its event part in progress; their windows pass.
            store = OwnedStore.of(
                DynamoStore(boto3.client("dynamodb"), stack.table), Owner.ENRICH, read_legacy=False
            )
            part_id = after_kill[0].event.event_id
            for partition, key in ((IDEMPOTENCY_PK, message_id), (PARTS_PK, part_id)):
                sort_key = stored_key(partition, key)
                record = store.get(pk=partition, sk=sort_key)
                assert record is not None, f"the killed invocation left no in-progress {partition} record"
                store.replace(
                    pk=partition,
                    sk=sort_key,
                    data={**record.data, "in_progress_expiry_ms": int(time.time() * 1000) - 1000},
                    ttl_seconds=3600,
                    expected_version=record.version,
                )

    retried = deliver("enrich", event, between=lease_expires, attempts=3)
    deliveries += retried.deliveries - 1  # the kill was the first of Lambda's three attempts
    assert "MessageInFlight" in retried.errors[0]
    captured = after_kill + stack.drain()
    row = _row("Lambda killed after SNS publish, retried", deliveries, captured)
    assert {c.event.event_id for c in captured} == {after_kill[0].event.event_id}
    assert (retried.kept, row.lost, row.twice) == (False, 0, 0), retried.errors
    # A further SNS duplicate now finds the message recorded as done.
    assert deliver("enrich", event).results[0]["duplicates"] == 1


# --- fuzzing: nothing escapes, nothing unreadable is dropped ------------------------------------------

_FUZZ = {"messages": 0, "events": 0, "kept": 0, "unaccounted": 0}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(message=_messages, subject=st.one_of(st.just("[FIRING:2] X"), st.text(max_size=40)))
def test_fuzzed_messages_never_escape_and_are_kept(stack: Stack, message: str, subject: str) -> None:
    """Random bytes, random text and hypothesis-built Alertmanager payloads through the real handler."""
    outcome = deliver("enrich", sns_event(message, subject=subject), attempts=1)
    assert outcome.errors == []
    captured = stack.drain()
    _FUZZ["messages"] += 1
    _FUZZ["events"] += len(captured)
    kept = [c for c in captured if c.event.event_type is EventType.UNPARSEABLE]
    _FUZZ["kept"] += len(kept)
    for event in kept:
        assert event.event.unparseable is not None
        assert event.event.unparseable.raw_location.startswith(f"s3://{stack.bucket}/")
    if not captured:
        _FUZZ["unaccounted"] += 1
    assert captured, "a message produced no event at all"


def test_fuzz_row() -> None:
    """The fuzzing above, as one row of the table (runs after it: pytest keeps file order)."""
    row = LEDGER.add(
        Row(
            f"fuzz: {_FUZZ['messages']} random/hypothesis messages",
            _FUZZ["messages"],
            published=_FUZZ["events"],
            slack_posts=None,
            pd_triggers=None,
            k8s_changes=None,
            kept_failures=_FUZZ["kept"],
            lost=_FUZZ["unaccounted"],
            twice=0,
        )
    )
    assert row.lost == 0
