"""The enriched event survives JSON unchanged, and its attributes feed SNS filter policies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from netguard.alerts.fingerprint import fingerprint
from netguard.alerts.models import Alert, AllowanceKind, Status, frozen_map
from netguard.enriched import (
    SCHEMA,
    ActionKind,
    Diagnosis,
    DnsContext,
    EnrichedAlert,
    EnrichedEvent,
    EnrichmentError,
    EventType,
    GroupInfo,
    InstanceInfo,
    NodeInfo,
    Outcome,
    RemediationReport,
    SchemaError,
    SourceRef,
    event_from_json,
    event_to_json,
    message_attributes,
)


def _event() -> EnrichedEvent:
    labels = {"alertname": "LinklocalAllowanceExceeded", "instance": "10.0.1.5:9100", "cluster": "prod"}
    alert = Alert(
        status=Status.FIRING,
        labels=frozen_map(labels),
        annotations=frozen_map({"summary": 'a "quoted"\nline'}),
        starts_at=datetime(2026, 11, 25, 20, 36, 41, 124437, tzinfo=UTC),
        ends_at=None,
        generator_url="http://prometheus/graph",
        fingerprint=fingerprint(labels),
        allowance=AllowanceKind.LINKLOCAL,
    )
    return EnrichedEvent(
        event_type=EventType.ALERT_GROUP,
        event_id="m-1#1",
        group_id="netguard/prod/LinklocalAllowanceExceeded",
        cluster="prod",
        status="firing",
        alertname="LinklocalAllowanceExceeded",
        severity="warning",
        group=GroupInfo(
            receiver="sns", source_format="amp_json", group_labels=frozen_map({"alertname": "L"})
        ),
        alerts=(
            EnrichedAlert(
                alert=alert,
                cluster="prod",
                instance=InstanceInfo(
                    instance_id="i-0abc", instance_type="m5.large", baseline_bandwidth_gbps=0.75
                ),
                node=NodeInfo(name="ip-10-0-1-5.ec2.internal", internal_ip="10.0.1.5", ready=True),
                dns=DnsContext(
                    coredns_replicas=2,
                    coredns_pods_on_node=("coredns-a", "coredns-b"),
                    dns_bypass_pods=("default/x",),
                ),
                drop_rate_per_second=12.5,
                diagnosis=Diagnosis(
                    summary="DNS throttled", details=("two replicas share eth0",), remediable=True
                ),
            ),
        ),
        enrichment_errors=(EnrichmentError(source="ec2", message="throttled", fingerprint="abc"),),
        source=SourceRef(message_id="m-1", subject="[FIRING:1]"),
        remediation=RemediationReport(
            decision_id="d-1",
            cluster="prod",
            action=ActionKind.SCALE_COREDNS,
            outcome=Outcome.DRY_RUN,
            mode="dry-run",
            reasons=("drops persist",),
            before={"replicas": 2},
            after={"replicas": 4},
        ),
    )


def test_round_trip_is_lossless() -> None:
    event = _event()
    assert event_from_json(event_to_json(event)) == event


def test_json_states_schema_and_remediable() -> None:
    data = json.loads(event_to_json(_event()))
    assert data["schema"] == SCHEMA
    assert data["remediable"] is True
    assert data["alerts"][0]["alert"]["starts_at"] == "2026-11-25T20:36:41.124437Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"schema": "other/v9"}', "unsupported"),
        (json.dumps({"schema": SCHEMA, "event_type": "nope", "event_id": "x"}), "malformed"),
    ],
)
def test_foreign_messages_are_schema_errors(text: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        event_from_json(text)


def test_message_attributes_for_filter_policies() -> None:
    attributes = message_attributes(_event())
    assert attributes["event_type"] == {"DataType": "String", "StringValue": "alert_group"}
    assert attributes["remediable"]["StringValue"] == "true"
    assert json.loads(attributes["allowance"]["StringValue"]) == ["linklocal"]
    assert attributes["action"]["StringValue"] == "scale_coredns"
    assert len(attributes) <= 10  # SNS allows at most 10 message attributes per message
