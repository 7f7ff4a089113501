"""PagerDuty Events API v2: pure payload builders, a thin sender, and the state-backed notifier.

`dedup_key` is derived from the group identity (or group identity plus alert fingerprint), so the
resolve finds the incident the trigger opened across cold starts. State records per key whether a
trigger or resolve went out, so SNS duplicates and concurrent deliveries send each exactly once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from netguard.alerts import ordering
from netguard.alerts.models import Alert
from netguard.config.notify import DEFAULT_SEVERITY_MAP, PAGERDUTY_SEVERITIES, DedupMode
from netguard.enriched.models import EnrichedEvent, EventType, RemediationReport
from netguard.errors import RetryableError
from netguard.notify.digest import digest_event, digest_to_dict, source_of
from netguard.notify.errors import DeliveryPermanent
from netguard.notify.http import Budget, RetryPolicy, Transport, classify, with_retries
from netguard.notify.models import Delivery, GroupDigest, Json, Links, Outcome, Receiver
from netguard.notify.secrets import Secret
from netguard.notify.slack.blocks import silence_url
from netguard.notify.slack.notifier import slack_permalink
from netguard.state import Item, StateConflict, StateReader, StateStore

log = logging.getLogger(__name__)

STALE = "older than what was delivered already, by the alerts' own times"

RECEIVER = "pagerduty"
SEVERITIES = PAGERDUTY_SEVERITIES
DEDUP_LIMIT = 255
SUMMARY_LIMIT = 1024
SOURCE_LIMIT = 255
DETAILS_LIMIT = 60_000
"""Bytes of JSON kept in `custom_details` (the whole event may be at most 512 KB)."""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def map_severity(label: str, mapping: Mapping[str, str], default: str) -> str:
    """PagerDuty's severity for an alert's `severity` label; unknown values become `default`."""
    value = mapping.get(label.strip().lower(), "")
    return value if value in SEVERITIES else default


def dedup_key(group_id: str, fingerprint: str = "") -> str:
    """Stable, never empty, at most 255 characters (hashed when longer)."""
    key = f"{group_id or 'netguard/unknown-group'}" + (f"#{fingerprint}" if fingerprint else "")
    if len(key) <= DEDUP_LIMIT:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: DEDUP_LIMIT - len(digest) - 1]}~{digest}"


def summary_of(digest: GroupDigest, source: str) -> str:
    head = f"[{digest.cluster or 'unknown cluster'}] {digest.alertname or 'alert'}"
    where = f" on {source}" if source else ""
    count = f" ({digest.total} alerts)" if digest.total > 1 else ""
    text = f"{head}{where}{count}: {digest.summary}" if digest.summary else f"{head}{where}{count}"
    return _clip(text, SUMMARY_LIMIT)


def _details(digest: GroupDigest) -> Json:
    details = digest_to_dict(digest)
    for key in ("rows", "nodes", "instance_types", "zones", "diagnoses"):
        encoded = json.dumps(details, default=str)
        if len(encoded) <= DETAILS_LIMIT:
            break
        details[key] = "omitted (too large)"
    return details


def _links(links: Links) -> list[Json]:
    return [{"href": href, "text": text} for text, href in links.as_pairs()]


def trigger_event(
    digest: GroupDigest, *, key: str, severity: str, source: str, links: Links, timestamp: str = ""
) -> Json:
    """An Events API v2 `trigger` (without the routing key, which the sender adds)."""
    payload: Json = {
        "summary": summary_of(digest, source),
        "source": _clip(source or digest.cluster or "netguard", SOURCE_LIMIT),
        "severity": severity,
        "component": _clip(digest.alertname or "netguard", SOURCE_LIMIT),
        "group": _clip(digest.cluster, SOURCE_LIMIT),
        "class": _clip(",".join(digest.kinds) or "unknown", SOURCE_LIMIT),
        "custom_details": _details(digest),
    }
    if timestamp:
        payload["timestamp"] = timestamp
    return {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": payload,
        "client": "netguard",
        "links": _links(links),
    }


def resolve_event(*, key: str) -> Json:
    return {"event_action": "resolve", "dedup_key": key}


def change_event(report: RemediationReport, *, links: Links) -> Json:
    """A change event for a remediation decision (PagerDuty shows it next to the incident)."""
    reason = report.summary or (report.reasons[0] if report.reasons else "")
    summary = f"netguard {report.action.value} on {report.cluster}: {report.outcome.value}" + (
        f" - {reason}" if reason else ""
    )
    payload: Json = {
        "summary": _clip(summary, SUMMARY_LIMIT),
        "source": _clip(report.cluster or "netguard", SOURCE_LIMIT),
        "custom_details": {
            "decision_id": report.decision_id,
            "action": report.action.value,
            "outcome": report.outcome.value,
            "mode": report.mode,
            "reasons": list(report.reasons),
            "before": dict(report.before),
            "after": dict(report.after),
            "group_id": report.group_id,
            "follow_up": report.follow_up,
            "phase": report.phase,
            "summary": report.summary,
        },
    }
    if report.at:
        payload["timestamp"] = report.at
    return {"payload": payload, "links": _links(links)}


class PagerDutyClient:
    """Sends Events API v2 requests with the routing key from Secrets Manager."""

    def __init__(
        self,
        base_url: str,
        routing_key: Secret,
        transport: Transport,
        budget: Budget,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._key = routing_key
        self._transport = transport
        self._budget = budget
        self._policy = policy
        self._sleep = sleep

    def enqueue(self, event: Json) -> None:
        self._send("/v2/enqueue", event)

    def change(self, event: Json) -> None:
        self._send("/v2/change/enqueue", event)

    def _send(self, path: str, event: Json) -> None:
        body = json.dumps(
            {"routing_key": self._key.reveal(), **event},
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        ).encode()
        headers = {"Content-Type": "application/json"}
        url = f"{self._base}{path}"

        def attempt(timeout: float) -> None:
            response = self._transport.post(url, body, headers, timeout)
            if response.status == 400:
                answer = response.json()
                errors = answer.get("errors") if isinstance(answer, dict) else None
                raise DeliveryPermanent(
                    RECEIVER, "invalid_event", f"{path} rejected the event: {json.dumps(errors)[:500]}"
                )
            classify(RECEIVER, response, where=f"pagerduty {path}")

        with_retries(
            attempt, budget=self._budget, policy=self._policy, sleep=self._sleep, what=f"pagerduty {path}"
        )


@dataclasses.dataclass(frozen=True)
class PagerDutyOptions:
    dedup: DedupMode = DedupMode.GROUP
    severity_map: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(DEFAULT_SEVERITY_MAP))
    default_severity: str = "error"
    trigger_unparseable: bool = False
    alertmanager_url: str = ""
    ttl_seconds: int = 30 * 86_400


def incident_pk(group_id: str) -> str:
    return f"group#{group_id}"


class PagerDutyNotifier:
    """`Notifier` for PagerDuty: trigger/resolve per dedup key exactly once per status."""

    receiver = Receiver.PAGERDUTY

    def __init__(
        self,
        store: StateStore,
        client: PagerDutyClient,
        options: PagerDutyOptions,
        *,
        slack_refs: StateReader | None = None,
    ) -> None:
        """`slack_refs`: where Slack keeps its message references (read only; default `store`, as
        when both notifiers share one store in tests and `netguard parse`)."""
        self._store = store
        self._slack_refs: StateReader = store if slack_refs is None else slack_refs
        self._client = client
        self._options = options

    def notify(self, event: EnrichedEvent) -> list[Delivery]:
        if event.event_type is EventType.ALERT_GROUP:
            return self._alert_group(event)
        if event.event_type is EventType.REMEDIATION:
            return [self._change(event)]
        return [self._unparseable(event)]

    def _alert_group(self, event: EnrichedEvent) -> list[Delivery]:
        if self._options.dedup is DedupMode.GROUP or not event.alerts:
            source = source_of(event.alerts[0]) if event.alerts else ""
            status = "resolved" if event.status == "resolved" else "firing"
            return [
                self._once(
                    event,
                    name="group",
                    key=dedup_key(event.group_id),
                    status=status,
                    digest=digest_event(event),
                    source=source,
                    alerts=tuple(a.alert for a in event.alerts),
                )
            ]
        deliveries = []
        for item in event.alerts:
            single = dataclasses.replace(event, alerts=(item,), part_index=1, part_count=1)
            fingerprint = item.alert.fingerprint
            deliveries.append(
                self._once(
                    event,
                    name=fingerprint,
                    key=dedup_key(event.group_id, fingerprint),
                    status=item.alert.status.value,
                    digest=digest_event(single),
                    source=source_of(item),
                    alerts=(item.alert,),
                )
            )
        return deliveries

    def _once(
        self,
        event: EnrichedEvent,
        *,
        name: str,
        key: str,
        status: str,
        digest: GroupDigest,
        source: str,
        alerts: tuple[Alert, ...],
    ) -> Delivery:
        pk, sk = incident_pk(event.group_id), f"pd#{name}"
        action = "trigger" if status == "firing" else "resolve"
        for _ in range(5):
            current = self._store.get(pk=pk, sk=sk)
            seen = ordering.seen_from_json(current.data.get("seen")) if current is not None else {}
            newer = ordering.remember(seen, alerts)
            if current is not None and current.data.get("status") == status:
                if newer != seen:  # keep the alerts' times, so a late delivery is known as one
                    self._keep_seen(pk, sk, current, newer)
                return Delivery(Receiver.PAGERDUTY, Outcome.DUPLICATE, action, key)
            if ordering.all_stale(ordering.of_status(alerts, status), seen):
                # A firing delivered again after its resolve (SNS redelivery, Lambda retry): by the
                # alerts' own times it is older than what PagerDuty was told; re-triggering would
                # reopen a resolved incident.
                return Delivery(Receiver.PAGERDUTY, Outcome.SKIPPED, action, f"{key}: stale ({STALE})")
            data = {"status": status, "dedup_key": key, "seen": ordering.seen_to_json(newer)}
            try:
                claimed = self._write(pk, sk, data, current)
            except StateConflict:
                continue
            try:
                if action == "trigger":
                    severity = map_severity(
                        event.severity, self._options.severity_map, self._options.default_severity
                    )
                    self._client.enqueue(
                        trigger_event(
                            digest,
                            key=key,
                            severity=severity,
                            source=source,
                            links=self._links(event.group_id, digest),
                            timestamp=digest.started_at,
                        )
                    )
                else:
                    self._client.enqueue(resolve_event(key=key))
            except RetryableError:
                self._rollback(pk, sk, claimed.version, None if current is None else dict(current.data))
                raise
            return Delivery(Receiver.PAGERDUTY, Outcome.SENT, action, key)
        return Delivery(Receiver.PAGERDUTY, Outcome.DUPLICATE, action, f"{key} (contended)")

    def _write(self, pk: str, sk: str, data: Mapping[str, Any], current: Item | None) -> Item:
        """Create the ledger item, or replace `current` if nobody changed it since (else StateConflict)."""
        ttl = self._options.ttl_seconds
        if current is None:
            return self._store.create(pk=pk, sk=sk, data=data, ttl_seconds=ttl)
        return self._store.replace(pk=pk, sk=sk, data=data, ttl_seconds=ttl, expected_version=current.version)

    def _keep_seen(self, pk: str, sk: str, current: Item, seen: Mapping[str, ordering.Seen]) -> None:
        try:
            self._write(pk, sk, {**current.data, "seen": ordering.seen_to_json(seen)}, current)
        except StateConflict:
            log.info("%s/%s moved on while recording alert times; the next delivery records them", pk, sk)

    def _rollback(self, pk: str, sk: str, version: int, previous: Mapping[str, Any] | None) -> None:
        try:
            if previous is None:
                self._store.delete(pk=pk, sk=sk, expected_version=version)
            else:
                self._store.replace(
                    pk=pk,
                    sk=sk,
                    data=previous,
                    ttl_seconds=self._options.ttl_seconds,
                    expected_version=version,
                )
        except (StateConflict, RetryableError) as exc:
            log.warning("could not roll back the claim on %s/%s: %s", pk, sk, exc)

    def _links(self, group_id: str, digest: GroupDigest) -> Links:
        labels = dict(digest.group_labels) or {"alertname": digest.alertname, "cluster": digest.cluster}
        return Links(
            graph=digest.graph_url,
            runbook=digest.runbook_url,
            silence=silence_url(self._options.alertmanager_url, labels),
            slack_thread=slack_permalink(self._slack_refs, group_id),
        )

    def _change(self, event: EnrichedEvent) -> Delivery:
        report = event.remediation
        if report is None:
            raise DeliveryPermanent(
                RECEIVER, "bad_event", f"remediation event {event.event_id} has no report"
            )
        if not report.changed:
            # Change events are for changes: nothing in the cluster changed, nor would have (dry-run).
            return Delivery(Receiver.PAGERDUTY, Outcome.SKIPPED, "change", "nothing changed in the cluster")
        group_id = report.group_id or event.group_id
        self._client.change(
            change_event(report, links=Links(slack_thread=slack_permalink(self._slack_refs, group_id)))
        )
        return Delivery(Receiver.PAGERDUTY, Outcome.SENT, "change", report.action.value)

    def _unparseable(self, event: EnrichedEvent) -> Delivery:
        if not self._options.trigger_unparseable:
            return Delivery(Receiver.PAGERDUTY, Outcome.SKIPPED, "trigger", "unparseable events not paged")
        reason = event.unparseable.reason if event.unparseable else "unknown reason"
        key = dedup_key(f"netguard/unparseable/{hashlib.sha256(event.event_id.encode()).hexdigest()[:32]}")
        self._client.enqueue(
            {
                "event_action": "trigger",
                "dedup_key": key,
                "client": "netguard",
                "payload": {
                    "summary": _clip(
                        f"netguard could not parse an alert notification: {reason}", SUMMARY_LIMIT
                    ),
                    "source": _clip(event.source.topic_arn or "netguard", SOURCE_LIMIT),
                    "severity": self._options.default_severity,
                    "custom_details": {
                        "reason": reason,
                        "subject": event.source.subject,
                        "message_id": event.source.message_id,
                        "raw_location": event.unparseable.raw_location if event.unparseable else "",
                    },
                },
            }
        )
        return Delivery(Receiver.PAGERDUTY, Outcome.SENT, "trigger", "unparseable")
