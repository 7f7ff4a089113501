"""Building enriched events: parts under the SNS limit, per-cluster events, unparseable events."""

from __future__ import annotations

import json

import pytest

from netguard.alerts.models import SnsMessage, Status, Unparseable
from netguard.enrich.errors import EventTooLarge
from netguard.enrich.models import EnrichmentResult
from netguard.enrich.publish import (
    DEFAULT_BUDGET,
    SNS_MAX_BYTES,
    build_events,
    message_size,
    unparseable_event,
)
from netguard.enriched import EventType, event_from_json, event_to_json, message_attributes
from netguard.enriched.models import Diagnosis, DnsContext, EnrichedAlert, EnrichmentError, SourceRef
from tests.support.alertbuild import alert, group

SOURCE = SourceRef(
    message_id="m-1", topic_arn="arn:aws:sns:us-east-1:123456789012:alerts", subject="[FIRING:1] x"
)


def enriched(
    labels: dict[str, str], *, cluster: str = "prod", annotation: str = "short", remediable: bool = False
) -> EnrichedAlert:
    a = alert(labels, annotations={"description": annotation})
    return EnrichedAlert(
        alert=a,
        cluster=cluster,
        dns=DnsContext(coredns_replicas=2),
        diagnosis=Diagnosis(summary="s", details=("d" * 300,), remediable=remediable),
    )


class TestBuildEvents:
    def test_one_small_group_is_one_event(self) -> None:
        alerts = (enriched({"instance": "10.0.0.1:9100"}, remediable=True),)
        g = group(*(a.alert for a in alerts))
        (event,) = build_events(g, EnrichmentResult(alerts=alerts), source=SOURCE, event_id_prefix="m-1#1")
        assert event.event_id == "m-1#1.1"
        assert (event.part_index, event.part_count) == (1, 1)
        assert event.cluster == "prod"
        assert event.alertname == "DnsThrottling"
        assert event.severity == "warning"
        assert event.status == "firing"
        assert event.group_id == "netguard/prod/DnsThrottling/alertname=DnsThrottling"
        assert event.remediable
        assert message_attributes(event)["remediable"]["StringValue"] == "true"
        assert event_from_json(event_to_json(event)) == event

    def test_large_group_split_into_numbered_parts_under_the_limit(self) -> None:
        """3000 alerts with 1 KB annotations: every part fits, nothing is dropped, order is kept."""
        alerts = tuple(
            enriched({"instance": f"10.0.{i // 250}.{i % 250}:9100"}, annotation="x" * 1000)
            for i in range(3000)
        )
        g = group(*(a.alert for a in alerts))
        errors = (
            EnrichmentError("prometheus", "down"),
            EnrichmentError("ec2", "no instance", fingerprint=alerts[2999].alert.fingerprint),
        )
        events = build_events(
            g, EnrichmentResult(alerts=alerts, errors=errors), source=SOURCE, event_id_prefix="m-1#1"
        )
        assert len(events) > 10
        assert all(message_size(e) <= DEFAULT_BUDGET < SNS_MAX_BYTES for e in events)
        assert [e.part_index for e in events] == list(range(1, len(events) + 1))
        assert {e.part_count for e in events} == {len(events)}
        assert len({e.event_id for e in events}) == len(events)
        assert [a.alert.fingerprint for e in events for a in e.alerts] == [
            a.alert.fingerprint for a in alerts
        ]
        # The group-level error travels with every part; the alert's own error with its alert.
        assert all(errors[0] in e.enrichment_errors for e in events)
        assert errors[1] in events[-1].enrichment_errors
        assert all(errors[1] not in e.enrichment_errors for e in events[:-1])
        assert {e.group_id for e in events} == {events[0].group_id}

    def test_sizes_are_the_real_sizes(self) -> None:
        """message_size counts the UTF-8 body and the attributes, as SNS does."""
        alerts = (enriched({"instance": "10.0.0.1:9100"}, annotation="é" * 100),)
        (event,) = build_events(
            group(alerts[0].alert), EnrichmentResult(alerts=alerts), source=SOURCE, event_id_prefix="p"
        )
        body = len(event_to_json(event).encode())
        attrs = sum(
            len(k) + len(v["DataType"]) + len(v["StringValue"]) for k, v in message_attributes(event).items()
        )
        assert message_size(event) == body + attrs
        assert body > len(event_to_json(event))

    def test_two_clusters_become_two_events(self) -> None:
        alerts = (enriched({"cluster": "a"}, cluster="a"), enriched({"cluster": "b"}, cluster="b"))
        events = build_events(
            group(*(a.alert for a in alerts)),
            EnrichmentResult(alerts=alerts),
            source=SOURCE,
            event_id_prefix="m#1",
        )
        assert [(e.cluster, e.event_id, e.part_count) for e in events] == [
            ("a", "m#1.1", 1),
            ("b", "m#1.2", 1),
        ]
        assert events[0].group_id != events[1].group_id
        assert [message_attributes(e)["cluster"]["StringValue"] for e in events] == ["a", "b"]

    def test_huge_annotation_is_shortened_not_dropped(self) -> None:
        alerts = (enriched({"instance": "10.0.0.1:1"}, annotation="y" * 400_000),)
        (event,) = build_events(
            group(alerts[0].alert), EnrichmentResult(alerts=alerts), source=SOURCE, event_id_prefix="m#1"
        )
        assert message_size(event) <= DEFAULT_BUDGET
        assert event.alerts[0].alert.annotations["description"].endswith("[shortened]")
        assert [e.source for e in event.enrichment_errors] == ["publish"]

    def test_huge_labels_cannot_fit(self) -> None:
        alerts = (enriched({"instance": "10.0.0.1:1", "big": "z" * 300_000}),)
        with pytest.raises(EventTooLarge):
            build_events(
                group(alerts[0].alert), EnrichmentResult(alerts=alerts), source=SOURCE, event_id_prefix="m"
            )

    def test_severity_is_the_highest_when_not_common(self) -> None:
        alerts = (enriched({"severity": "warning"}), enriched({"severity": "critical"}))
        (event,) = build_events(
            group(*(a.alert for a in alerts), common={}),
            EnrichmentResult(alerts=alerts),
            source=SOURCE,
            event_id_prefix="m",
        )
        assert event.severity == "critical"

    def test_group_without_alerts(self) -> None:
        (event,) = build_events(
            group(status=Status.FIRING), EnrichmentResult(alerts=()), source=SOURCE, event_id_prefix="m"
        )
        assert event.alerts == ()


def test_unparseable_event() -> None:
    message = SnsMessage(message="garbage " * 200, subject="hello", message_id="m-9")
    event = unparseable_event(
        Unparseable("no known format", message),
        source=SourceRef(message_id="m-9"),
        event_id="m-9#1.1",
        cluster="prod",
        raw_location="s3://raw/unparseable/m-9.json",
    )
    assert event.event_type is EventType.UNPARSEABLE
    assert event.unparseable is not None
    assert event.unparseable.raw_size == len(message.message)
    assert len(event.unparseable.raw_preview) == 500
    assert event.unparseable.raw_location == "s3://raw/unparseable/m-9.json"
    assert message_attributes(event)["event_type"]["StringValue"] == "unparseable"
    assert json.loads(event_to_json(event))["unparseable"]["reason"] == "no known format"
