"""Notification fan-out: Slack and PagerDuty for enriched events, called by the notify_* handlers.

Formatting is pure (digests to Block Kit or Events API payloads); sending goes through `http`'s
retry loop; state (message references, dedup keys, idempotency) goes through `netguard.state`.
"""

from netguard.config.notify import DedupMode
from netguard.notify.digest import digest_event, digest_from_dict, digest_to_dict, merge
from netguard.notify.errors import (
    ConcurrentDelivery,
    DeliveryPermanent,
    DeliveryRetryable,
    MessageGone,
    NotifyError,
    SecretInvalid,
    SecretUnavailable,
)
from netguard.notify.http import (
    Budget,
    HttpResponse,
    RetryPolicy,
    Transport,
    UrllibTransport,
    redact,
    with_retries,
)
from netguard.notify.models import Delivery, GroupDigest, Links, Outcome, Receiver, SlackRef
from netguard.notify.notifier import EventLedger, Notifier
from netguard.notify.pagerduty import (
    PagerDutyClient,
    PagerDutyNotifier,
    PagerDutyOptions,
    change_event,
    dedup_key,
    map_severity,
    resolve_event,
    trigger_event,
)
from netguard.notify.runner import RecordResult, RecordStatus, handle_event, process_record
from netguard.notify.secrets import Secret, SecretCache
from netguard.notify.slack import SlackApi, SlackNotifier, SlackWebhook

__all__ = [
    "Budget",
    "ConcurrentDelivery",
    "DedupMode",
    "Delivery",
    "DeliveryPermanent",
    "DeliveryRetryable",
    "EventLedger",
    "GroupDigest",
    "HttpResponse",
    "Links",
    "MessageGone",
    "Notifier",
    "NotifyError",
    "Outcome",
    "PagerDutyClient",
    "PagerDutyNotifier",
    "PagerDutyOptions",
    "Receiver",
    "RecordResult",
    "RecordStatus",
    "RetryPolicy",
    "Secret",
    "SecretCache",
    "SecretInvalid",
    "SecretUnavailable",
    "SlackApi",
    "SlackNotifier",
    "SlackRef",
    "SlackWebhook",
    "Transport",
    "UrllibTransport",
    "change_event",
    "dedup_key",
    "digest_event",
    "digest_from_dict",
    "digest_to_dict",
    "handle_event",
    "map_severity",
    "merge",
    "process_record",
    "redact",
    "resolve_event",
    "trigger_event",
    "with_retries",
]
