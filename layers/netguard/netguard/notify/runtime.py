"""Builds the notifiers from settings: the adapters the notify_* handlers wire together.

Containers keep the state store and the secret cache across invocations; the senders are built per
invocation because their retry loop is bounded by that invocation's remaining time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netguard.config.notify import DeliverySettings, PagerDutySettings, SlackMode, SlackSettings
from netguard.notify.http import Budget, RetryPolicy, Transport, UrllibTransport
from netguard.notify.notifier import DAY, EventLedger
from netguard.notify.pagerduty import PagerDutyClient, PagerDutyNotifier, PagerDutyOptions
from netguard.notify.secrets import SecretCache
from netguard.notify.slack import SlackApi, SlackNotifier, SlackWebhook
from netguard.state import DynamoStore, StateStore


@dataclass
class Runtime:
    """What one warm container keeps."""

    store: StateStore
    secrets: SecretCache
    ledger: EventLedger
    transport: Transport
    sleep: Callable[[float], None] = time.sleep


def build_runtime(
    delivery: DeliverySettings,
    function: str,
    receiver: str,
    *,
    dynamodb: Any,
    secretsmanager: Any,
    transport: Transport | None = None,
) -> Runtime:
    store = DynamoStore(dynamodb, delivery.state_table)
    return Runtime(
        store=store,
        secrets=SecretCache(secretsmanager, ttl_seconds=delivery.secret_cache_seconds),
        ledger=EventLedger(store, function, done_ttl_seconds=delivery.idempotency_ttl_hours * 3600),
        transport=transport or UrllibTransport(receiver),
    )


def retry_policy(delivery: DeliverySettings) -> RetryPolicy:
    return RetryPolicy(max_attempts=delivery.max_attempts, attempt_timeout=delivery.http_timeout_seconds)


def slack_notifier(settings: SlackSettings, runtime: Runtime, budget: Budget) -> SlackNotifier:
    secret = runtime.secrets.get(settings.secret_arn, settings.secret_key)
    policy = retry_policy(settings.delivery)
    common: dict[str, Any] = {
        "channel": settings.channel,
        "alertmanager_url": settings.delivery.alertmanager_url,
        "ttl_seconds": settings.delivery.state_ttl_days * DAY,
        "sleep": runtime.sleep,
    }
    if settings.mode is SlackMode.BOT:
        api = SlackApi(settings.api_url, secret, runtime.transport, budget, policy, sleep=runtime.sleep)
        return SlackNotifier(runtime.store, api=api, **common)
    webhook = SlackWebhook(secret, runtime.transport, budget, policy, sleep=runtime.sleep)
    return SlackNotifier(runtime.store, webhook=webhook, **common)


def pagerduty_notifier(settings: PagerDutySettings, runtime: Runtime, budget: Budget) -> PagerDutyNotifier:
    key = runtime.secrets.get(settings.secret_arn, "routing_key")
    client = PagerDutyClient(
        settings.events_url,
        key,
        runtime.transport,
        budget,
        retry_policy(settings.delivery),
        sleep=runtime.sleep,
    )
    options = PagerDutyOptions(
        dedup=settings.dedup,
        severity_map=settings.severity_map,
        default_severity=settings.default_severity,
        trigger_unparseable=settings.trigger_unparseable,
        alertmanager_url=settings.delivery.alertmanager_url,
        ttl_seconds=settings.delivery.state_ttl_days * DAY,
    )
    return PagerDutyNotifier(runtime.store, client, options)
