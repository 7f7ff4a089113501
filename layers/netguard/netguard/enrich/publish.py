"""Enriched events from enrichment results, split into numbered parts under the SNS size limit, and
the adapters that publish them (SNS) and keep unparseable raw messages (S3).

A group whose alerts span several clusters becomes one event per cluster (the event's `cluster`,
`group_id` and the `cluster` message attribute are per cluster, which filter policies rely on).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from netguard.alerts.fingerprint import group_identity
from netguard.alerts.models import AlertGroup, SnsMessage, Unparseable, frozen_map
from netguard.enrich.errors import EnrichError, EventTooLarge, PublishError
from netguard.enrich.models import EnrichmentResult
from netguard.enriched.codec import event_to_dict, event_to_json, message_attributes
from netguard.enriched.models import (
    EnrichedAlert,
    EnrichedEvent,
    EnrichmentError,
    EventType,
    GroupInfo,
    SourceRef,
    UnparseableInfo,
)

log = logging.getLogger(__name__)

SNS_MAX_BYTES = 256 * 1024
"""Message body plus message attributes (names, types and values)."""
DEFAULT_BUDGET = SNS_MAX_BYTES - 16 * 1024
"""What one part may use: the SNS limit less a margin for envelope differences."""
MAX_ANNOTATION_CHARS = 2000
RAW_PREVIEW_CHARS = 500
_SEVERITY_ORDER = ("critical", "error", "warning", "info")


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def message_size(event: EnrichedEvent) -> int:
    """Bytes SNS counts for this event: the JSON body and every attribute's name, type and value."""
    body = len(event_to_json(event).encode())
    attributes = sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in message_attributes(event).items()
    )
    return body + attributes


# --- alert groups ----------------------------------------------------------------------------------


def build_events(
    group: AlertGroup,
    result: EnrichmentResult,
    *,
    source: SourceRef,
    event_id_prefix: str,
    created_at: str = "",
    budget: int = DEFAULT_BUDGET,
) -> list[EnrichedEvent]:
    """One event per cluster of the group, each split into numbered parts that fit `budget` bytes.

    Event ids are `<prefix>.<n>` numbered across the returned list (stable for the same input).
    """
    created_at = created_at or now_rfc3339()
    info = GroupInfo(
        receiver=group.receiver,
        source_format=group.source_format.value,
        truncated=group.truncated,
        warnings=group.warnings,
        group_key=group.group_key,
        external_url=group.external_url,
        group_labels=group.group_labels,
        common_labels=group.common_labels,
        common_annotations=group.common_annotations,
    )
    by_cluster: dict[str, list[EnrichedAlert]] = {}
    for alert in result.alerts:
        by_cluster.setdefault(alert.cluster, []).append(alert)
    if not by_cluster:  # a group without alerts (a truncated message cut before the first one)
        by_cluster[""] = []
    group_errors = tuple(e for e in result.errors if not e.fingerprint)
    alert_errors: dict[str, list[EnrichmentError]] = {}
    for error in result.errors:
        if error.fingerprint:
            alert_errors.setdefault(error.fingerprint, []).append(error)

    events: list[EnrichedEvent] = []
    alertname = _alertname(group)
    for cluster, alerts in by_cluster.items():
        template = EnrichedEvent(
            event_type=EventType.ALERT_GROUP,
            event_id="",
            group_id=group_identity(cluster, alertname, group.group_labels),
            cluster=cluster,
            status=group.status.value,
            alertname=alertname,
            severity=_severity(group, alerts),
            group=info,
            enrichment_errors=group_errors,
            source=source,
            created_at=created_at,
        )
        events.extend(_split(template, alerts, alert_errors, budget))
    return [dataclasses.replace(e, event_id=f"{event_id_prefix}.{n}") for n, e in enumerate(events, start=1)]


def _split(
    template: EnrichedEvent,
    alerts: Sequence[EnrichedAlert],
    alert_errors: Mapping[str, Sequence[EnrichmentError]],
    budget: int,
) -> list[EnrichedEvent]:
    """Greedy packing by measured sizes, then a check of each part's real size (halving if needed)."""
    # Placeholder id and part numbers as wide as the real ones, so the measured size is an upper bound.
    template = dataclasses.replace(template, event_id="x" * 160, part_index=99999, part_count=99999)
    base = message_size(template)
    if base > budget:
        raise EventTooLarge(f"group {template.group_id}: even without alerts the event is {base} bytes")
    parts: list[list[tuple[EnrichedAlert, tuple[EnrichmentError, ...]]]] = [[]]
    used = base
    for alert in alerts:
        errors = tuple(alert_errors.get(alert.alert.fingerprint, ()))
        size = _alert_size(alert, errors)
        if base + size > budget:
            alert, errors = _fit(alert, errors, budget - base)  # noqa: PLW2901 - the shortened alert replaces it
            size = _alert_size(alert, errors)
        if parts[-1] and used + size > budget:
            parts.append([])
            used = base
        parts[-1].append((alert, errors))
        used += size

    def event_of(chunk: Sequence[tuple[EnrichedAlert, tuple[EnrichmentError, ...]]]) -> EnrichedEvent:
        errors = template.enrichment_errors + tuple(e for _, es in chunk for e in es)
        return dataclasses.replace(template, alerts=tuple(a for a, _ in chunk), enrichment_errors=errors)

    checked: list[EnrichedEvent] = []
    pending = list(parts)
    while pending:
        chunk = pending.pop(0)
        event = event_of(chunk)
        if message_size(event) > budget and len(chunk) > 1:
            middle = len(chunk) // 2
            pending[:0] = [chunk[:middle], chunk[middle:]]
            continue
        checked.append(event)
    count = len(checked)
    return [dataclasses.replace(e, part_index=i, part_count=count) for i, e in enumerate(checked, start=1)]


def _alert_size(alert: EnrichedAlert, errors: Sequence[EnrichmentError]) -> int:
    data = {**_plain_alert(alert)}
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()) + 1
    return size + sum(len(json.dumps(dataclasses.asdict(e), ensure_ascii=False).encode()) + 1 for e in errors)


def _plain_alert(alert: EnrichedAlert) -> dict[str, Any]:
    probe = EnrichedEvent(
        event_type=EventType.ALERT_GROUP, event_id="", group_id="", cluster="", status="", alerts=(alert,)
    )
    return event_to_dict(probe)["alerts"][0]  # type: ignore[no-any-return]


def _fit(
    alert: EnrichedAlert, errors: tuple[EnrichmentError, ...], room: int
) -> tuple[EnrichedAlert, tuple[EnrichmentError, ...]]:
    """The alert with long annotations shortened, for one that alone would not fit in `room` bytes."""
    annotations = {
        k: v if len(v) <= MAX_ANNOTATION_CHARS else v[:MAX_ANNOTATION_CHARS] + " [shortened]"
        for k, v in alert.alert.annotations.items()
    }
    shorter = dataclasses.replace(
        alert, alert=dataclasses.replace(alert.alert, annotations=frozen_map(annotations))
    )
    note = EnrichmentError(
        source="publish",
        fingerprint=alert.alert.fingerprint,
        message=f"annotations longer than {MAX_ANNOTATION_CHARS} characters were shortened to fit one "
        "SNS message",
    )
    errors = (*errors, note)
    size = _alert_size(shorter, errors)
    if size > room:
        raise EventTooLarge(
            f"alert {alert.alert.fingerprint} is {size} bytes even with shortened annotations"
        )
    return shorter, errors


def _alertname(group: AlertGroup) -> str:
    names = {a.name for a in group.alerts if a.name}
    return (
        group.common_labels.get("alertname")
        or group.group_labels.get("alertname")
        or (names.pop() if len(names) == 1 else ",".join(sorted(names))[:200])
    )


def _severity(group: AlertGroup, alerts: Sequence[EnrichedAlert]) -> str:
    common = group.common_labels.get("severity", "")
    if common:
        return common
    present = {a.alert.labels.get("severity", "") for a in alerts} - {""}
    for level in _SEVERITY_ORDER:
        if level in present:
            return level
    return sorted(present)[0] if present else ""


# --- unparseable messages --------------------------------------------------------------------------


def unparseable_event(
    outcome: Unparseable,
    *,
    source: SourceRef,
    event_id: str,
    cluster: str = "",
    raw_location: str = "",
    errors: Sequence[EnrichmentError] = (),
    created_at: str = "",
) -> EnrichedEvent:
    """A "could not parse" event so people see the message; the raw text is kept at `raw_location`."""
    raw = outcome.message.message
    return EnrichedEvent(
        event_type=EventType.UNPARSEABLE,
        event_id=event_id,
        group_id=f"netguard/unparseable/{source.message_id or event_id}",
        cluster=cluster,
        status="",
        unparseable=UnparseableInfo(
            reason=outcome.reason[:1000],
            raw_size=len(raw.encode()),
            raw_preview=raw[:RAW_PREVIEW_CHARS],
            raw_location=raw_location,
        ),
        enrichment_errors=tuple(errors),
        source=source,
        created_at=created_at or now_rfc3339(),
    )


def source_ref(message: SnsMessage) -> SourceRef:
    return SourceRef(
        message_id=message.message_id,
        topic_arn=message.topic_arn,
        subject=message.subject,
        timestamp=message.timestamp,
    )


# --- adapters --------------------------------------------------------------------------------------


class SnsPublisher:
    """Publishes events to the enriched topic with their filter-policy message attributes."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self._topic = topic_arn
        self.calls: dict[str, int] = {}

    def publish(self, event: EnrichedEvent) -> str:
        self.calls["sns Publish"] = self.calls.get("sns Publish", 0) + 1
        try:
            response = self._sns.publish(
                TopicArn=self._topic,
                Message=event_to_json(event),
                MessageAttributes=message_attributes(event),
            )
        except (ClientError, BotoCoreError) as exc:
            raise PublishError(f"publishing {event.event_id} to the enriched topic failed: {exc}") from exc
        return str(response.get("MessageId", ""))


class RawArchive:
    """Keeps an unparseable SNS message whole in S3 and says where."""

    def __init__(self, s3: Any, bucket: str, *, prefix: str = "unparseable/") -> None:
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix

    def keep(self, message: SnsMessage, *, received_at: datetime | None = None) -> str:
        when = received_at or datetime.now(UTC)
        name = message.message_id or when.strftime("%H%M%S%f")
        key = f"{self._prefix}{when:%Y/%m/%d}/{name}.json"
        body = json.dumps(
            {
                "message_id": message.message_id,
                "topic_arn": message.topic_arn,
                "subject": message.subject,
                "timestamp": message.timestamp,
                "attributes": dict(message.attributes),
                "message": message.message,
            },
            ensure_ascii=False,
        )
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=key, Body=body.encode(), ContentType="application/json"
            )
        except (ClientError, BotoCoreError) as exc:
            raise EnrichError(
                "s3", f"keeping the raw message in s3://{self._bucket}/{key} failed: {exc}"
            ) from exc
        return f"s3://{self._bucket}/{key}"
