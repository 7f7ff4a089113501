"""Slack delivery with state: one message per alert group and status, edited in place.

The group's message reference (`ref#<id>` / `slack`) is a small state machine: a conditional write
decides who posts a firing or resolved message, so duplicates and concurrent deliveries post once.
Parts of a multi-part group are stored as digests (`parts#<id>` / `slack-part#<episode>#<status>#<index>`)
and the message is re-rendered from all stored parts; later parts edit it (bot mode) or are folded
(webhook).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from netguard.alerts import ordering
from netguard.enriched.models import EnrichedEvent, EventType
from netguard.errors import PermanentError, RetryableError
from netguard.notify.digest import digest_event, digest_from_dict, digest_to_dict, merge
from netguard.notify.errors import ConcurrentDelivery, DeliveryPermanent, MessageGone
from netguard.notify.models import Delivery, GroupDigest, Json, Links, Outcome, Receiver, SlackRef
from netguard.notify.slack.api import SlackApi, SlackWebhook
from netguard.notify.slack.blocks import (
    alert_message,
    remediation_message,
    resolved_reply,
    silence_url,
    unparseable_message,
    url_problem,
)
from netguard.state import Item, StateConflict, StateReader, StateStore

log = logging.getLogger(__name__)

REF_SK = "slack"
PART_PREFIX = "slack-part#"
STALE = "older than what was posted already, by the alerts' own times"


def ref_pk(group_id: str) -> str:
    """The partition of a group's message reference (PagerDuty may read it: its own partition, so
    that grant reads no message parts)."""
    return f"ref#{group_id}"


def parts_pk(group_id: str) -> str:
    return f"parts#{group_id}"


def slack_permalink(store: StateReader, group_id: str) -> str:
    """The Slack thread of a group when one was posted (PagerDuty links to it)."""
    item = store.get(pk=ref_pk(group_id), sk=REF_SK) if group_id else None
    return str(item.data.get("permalink") or "") if item else ""


class SlackNotifier:
    """`Notifier` for Slack; give it a `SlackApi` (bot mode) or a `SlackWebhook` (webhook mode)."""

    receiver = Receiver.SLACK

    def __init__(
        self,
        store: StateStore,
        *,
        api: SlackApi | None = None,
        webhook: SlackWebhook | None = None,
        channel: str = "",
        alertmanager_url: str = "",
        ttl_seconds: int = 30 * 86_400,
        wait_for_post_seconds: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if (api is None) == (webhook is None):
            raise ValueError("SlackNotifier needs exactly one of api (bot mode) or webhook")
        self._store = store
        self._api = api
        self._webhook = webhook
        self._channel = channel
        self._alertmanager_url = alertmanager_url
        self._ttl = ttl_seconds
        self._wait = wait_for_post_seconds
        self._sleep = sleep

    # --- entry point ---------------------------------------------------------------------------

    def notify(self, event: EnrichedEvent) -> list[Delivery]:
        if event.event_type is EventType.ALERT_GROUP:
            return [self._alert_group(event)]
        if event.event_type is EventType.REMEDIATION:
            return [self._remediation(event)]
        self._post_plain(unparseable_message(event))
        return [Delivery(Receiver.SLACK, Outcome.SENT, "post", "unparseable")]

    # --- alert groups --------------------------------------------------------------------------

    def _alert_group(self, event: EnrichedEvent) -> Delivery:
        status = "resolved" if event.status == "resolved" else "firing"
        digest = digest_event(event)
        pk = ref_pk(event.group_id)
        alerts = tuple(a.alert for a in event.alerts)
        for _ in range(5):
            current = self._store.get(pk=pk, sk=REF_SK)
            previous = dict(current.data) if current else None
            seen = ordering.seen_from_json(previous.get("seen")) if previous is not None else {}
            newer = ordering.seen_to_json(ordering.remember(seen, alerts))
            failed_before = previous is not None and previous.get("failed") and not previous.get("ts")
            if current is not None and previous is not None and previous.get("status") == status:
                if not failed_before:
                    return self._add_part(current, digest, newer)
                previous = None if status == "firing" else previous  # a later notification tries again
            elif ordering.all_stale(ordering.of_status(alerts, status), seen):
                # A firing delivered again after its resolve (or a resolve of an incident older than
                # the one shown): by the alerts' own times it changes nothing; turning the message
                # back to FIRING would tell people a resolved incident is open again.
                return Delivery(Receiver.SLACK, Outcome.SKIPPED, "post", f"{status}: stale ({STALE})")
            data: dict[str, Any] = {
                "status": status,
                "posting": True,
                "channel": "",
                "ts": "",
                "permalink": "",
                "seen": newer,
            }
            if status == "resolved" and previous is not None:
                # Same episode: keep the original message to edit and reply under.
                data = {**previous, "status": status, "resolving": True, "seen": newer}
            else:
                data["episode"] = uuid.uuid4().hex[:16]
            # netguard's own ledger, not Powertools idempotency: the rule is "one Slack post per group
            # AND status, across different SNS messages carrying the same group", a business key whose
            # record also holds the message reference (channel, ts) that later parts and the resolve
            # edit; Powertools keys one request and stores its response, and cannot express either.
            try:
                if current is None:
                    claimed = self._store.create(pk=pk, sk=REF_SK, data=data, ttl_seconds=self._ttl)
                else:
                    claimed = self._store.replace(
                        pk=pk, sk=REF_SK, data=data, ttl_seconds=self._ttl, expected_version=current.version
                    )
            except StateConflict:
                continue  # someone else moved the group on; look again
            try:
                if "resolving" in data:
                    return self._resolve(claimed, digest)
                return self._post_new(claimed, digest)
            except RetryableError:
                self._rollback(pk, claimed, previous)
                raise
        raise ConcurrentDelivery(f"group {event.group_id} kept changing under us")

    def _post_new(self, claimed: Item, digest: GroupDigest) -> Delivery:
        episode = str(claimed.data["episode"])
        self._save_part(episode, digest)
        merged = self._merged(digest.group_id, episode, digest.status)
        message = self._message(merged)
        try:
            ref = self._post(message)
        except PermanentError as exc:
            self._set_fields(claimed.pk, episode, posting=False, failed=getattr(exc, "code", "error"))
            raise
        if ref is None:  # webhook: nothing to edit later
            self._set_fields(claimed.pk, episode, posting=False)
            return Delivery(Receiver.SLACK, Outcome.SENT, "post", digest.status)
        permalink = self._permalink(ref)
        self._set_fields(
            claimed.pk, episode, posting=False, channel=ref.channel, ts=ref.ts, permalink=permalink
        )
        again = self._merged(digest.group_id, episode, digest.status)
        if again.parts != merged.parts:  # parts that arrived while we posted
            try:
                self._update(ref, self._message(again), claimed.pk, episode)
            except (RetryableError, PermanentError) as exc:
                # Posted already: never undo the claim now (that would post twice).
                log.warning("could not add late parts to the message of %s: %s", claimed.pk, exc)
        return Delivery(Receiver.SLACK, Outcome.SENT, "post", digest.status)

    def _add_part(self, current: Item, digest: GroupDigest, seen: Mapping[str, Any]) -> Delivery:
        episode = str(current.data.get("episode", ""))
        if seen != current.data.get("seen"):  # keep the alerts' times, so a late delivery is known
            self._set_fields(current.pk, episode, seen=seen)
        changed = self._save_part(episode, digest)
        if self._webhook is not None:
            return Delivery(
                Receiver.SLACK,
                Outcome.DUPLICATE,
                "fold",
                "webhook mode cannot edit; already posted for this status",
            )
        data = self._wait_for_post(current)
        if not data.get("ts"):
            return Delivery(
                Receiver.SLACK, Outcome.SKIPPED, "fold", f"no message to edit ({data.get('failed')})"
            )
        if not changed:
            return Delivery(Receiver.SLACK, Outcome.DUPLICATE, "update", "already shown")
        ref = SlackRef(str(data["channel"]), str(data["ts"]), str(data.get("permalink", "")))
        self._update(
            ref, self._message(self._merged(digest.group_id, episode, digest.status)), current.pk, episode
        )
        return Delivery(
            Receiver.SLACK, Outcome.UPDATED, "update", f"part {digest.parts[0]}/{digest.part_count}"
        )

    def _resolve(self, claimed: Item, digest: GroupDigest) -> Delivery:
        episode = str(claimed.data.get("episode", ""))
        self._save_part(episode, digest)
        merged = self._merged(digest.group_id, episode, "resolved")
        message = self._message(merged)
        data = self._wait_for_post(claimed) if self._api is not None else dict(claimed.data)
        if self._api is None or not data.get("ts"):
            ref = self._post(message)
            self._set_fields(
                claimed.pk,
                episode,
                resolving=None,
                posting=False,
                **({"channel": ref.channel, "ts": ref.ts, "permalink": self._permalink(ref)} if ref else {}),
            )
            return Delivery(Receiver.SLACK, Outcome.SENT, "post", "resolved")
        ref = SlackRef(str(data["channel"]), str(data["ts"]), str(data.get("permalink", "")))
        try:
            self._api.update(ref, message)
        except MessageGone:
            fresh = self._api.post(self._channel, message)
            self._set_fields(
                claimed.pk,
                episode,
                resolving=None,
                channel=fresh.channel,
                ts=fresh.ts,
                permalink=self._permalink(fresh),
            )
            return Delivery(Receiver.SLACK, Outcome.SENT, "post", "resolved; original message gone")
        try:
            self._api.post(ref.channel, resolved_reply(merged), thread_ts=ref.ts)
        except MessageGone:
            log.warning(
                "slack thread of group %s is gone; the edited message shows the resolve", digest.group_id
            )
        self._set_fields(claimed.pk, episode, resolving=None)
        return Delivery(Receiver.SLACK, Outcome.SENT, "resolve", "edited and replied in thread")

    # --- remediation and plain messages ----------------------------------------------------------

    def _remediation(self, event: EnrichedEvent) -> Delivery:
        report = event.remediation
        if report is None:
            raise DeliveryPermanent("slack", "bad_event", f"remediation event {event.event_id} has no report")
        if not report.tell:
            # The incident's phase did not move (another check, a hold): the thread stays readable.
            return Delivery(Receiver.SLACK, Outcome.SKIPPED, "reply", f"no phase change ({report.phase})")
        message = remediation_message(report)
        group_id = report.group_id or event.group_id
        item = self._store.get(pk=ref_pk(group_id), sk=REF_SK) if group_id else None
        ts = str(item.data.get("ts") or "") if item else ""
        if self._api is not None and item is not None and ts:
            try:
                self._api.post(str(item.data["channel"]), message, thread_ts=ts)
                return Delivery(Receiver.SLACK, Outcome.SENT, "reply", report.action.value)
            except MessageGone:
                log.warning("slack thread of group %s is gone; posting the report alone", group_id)
        self._post_plain(message)
        return Delivery(Receiver.SLACK, Outcome.SENT, "post", report.action.value)

    def _post_plain(self, message: Json) -> None:
        self._post(message)

    # --- helpers -------------------------------------------------------------------------------

    def _links(self, digest: GroupDigest) -> Links:
        labels = dict(digest.group_labels) or {
            k: v for k, v in (("alertname", digest.alertname), ("cluster", digest.cluster)) if v
        }
        links = Links(
            graph=digest.graph_url,
            runbook=digest.runbook_url,
            silence=silence_url(self._alertmanager_url, labels),
            source=digest.generator_url,
        )
        for text, href in links.as_pairs():
            problem = url_problem(href)
            if problem:
                # Slack refuses a whole message over one bad button: the button is left out.
                log.warning(
                    "slack: the %s link of group %s is left out: it %s", text, digest.group_id, problem
                )
        return links

    def _message(self, digest: GroupDigest) -> Json:
        return alert_message(digest, self._links(digest))

    def _post(self, message: Json) -> SlackRef | None:
        if self._api is not None:
            return self._api.post(self._channel, message)
        if self._webhook is not None:
            self._webhook.post(message)
        return None

    def _permalink(self, ref: SlackRef) -> str:
        return self._api.permalink(ref) if self._api is not None else ""

    def _update(self, ref: SlackRef, message: Json, pk: str, episode: str) -> None:
        if self._api is None:
            return
        try:
            self._api.update(ref, message)
        except MessageGone:
            fresh = self._api.post(self._channel, message)
            self._set_fields(
                pk, episode, channel=fresh.channel, ts=fresh.ts, permalink=self._permalink(fresh)
            )

    def _save_part(self, episode: str, digest: GroupDigest) -> bool:
        """Store this part's digest; False when the same content was stored already."""
        pk = parts_pk(digest.group_id)
        sk = f"{PART_PREFIX}{episode}#{digest.status}#{digest.parts[0]:05d}"
        data = digest_to_dict(digest)
        existing = self._store.get(pk=pk, sk=sk)
        if existing is not None and dict(existing.data) == data:
            return False
        self._store.put(pk=pk, sk=sk, data=data, ttl_seconds=self._ttl)
        return True

    def _merged(self, group_id: str, episode: str, status: str) -> GroupDigest:
        items = self._store.query(
            pk=parts_pk(group_id),
            sk_prefix=f"{PART_PREFIX}{episode}#{status}#",
            limit=1000,
            newest_first=False,
        )
        return merge(digest_from_dict(i.data) for i in items)

    def _wait_for_post(self, item: Item) -> Mapping[str, Any]:
        """The reference once a concurrent poster has stored it (bounded wait), else `ConcurrentDelivery`."""
        data: Mapping[str, Any] = item.data
        deadline = time.monotonic() + self._wait
        while data.get("posting") and not data.get("ts"):
            if time.monotonic() >= deadline:
                raise ConcurrentDelivery(
                    f"the message of {item.pk} is still being posted by another invocation"
                )
            self._sleep(0.25)
            latest = self._store.get(pk=item.pk, sk=item.sk)
            data = latest.data if latest else {}
        return data

    def _set_fields(self, pk: str, episode: str, **fields: Any) -> None:
        """Merge fields into the group's reference (retrying lost races); None removes a field."""
        for _ in range(10):
            current = self._store.get(pk=pk, sk=REF_SK)
            if current is None or current.data.get("episode") != episode:
                return
            data = {k: v for k, v in {**current.data, **fields}.items() if v is not None}
            try:
                self._store.replace(
                    pk=pk, sk=REF_SK, data=data, ttl_seconds=self._ttl, expected_version=current.version
                )
                return
            except StateConflict:
                continue
        raise ConcurrentDelivery(f"could not update {pk} after repeated conflicts")

    def _rollback(self, pk: str, claimed: Item, previous: Mapping[str, Any] | None) -> None:
        """Undo our claim after a retryable failure, so the retried event can claim again."""
        try:
            current = self._store.get(pk=pk, sk=REF_SK)
            if current is None or current.data.get("episode") != claimed.data.get("episode"):
                return
            if previous is None:
                self._store.delete(pk=pk, sk=REF_SK, expected_version=current.version)
            else:
                keep = {k: current.data[k] for k in ("channel", "ts", "permalink") if current.data.get(k)}
                self._store.replace(
                    pk=pk,
                    sk=REF_SK,
                    data={**previous, **keep},
                    ttl_seconds=self._ttl,
                    expected_version=current.version,
                )
        except (StateConflict, RetryableError) as exc:
            log.warning("could not roll back the claim on %s: %s", pk, exc)
