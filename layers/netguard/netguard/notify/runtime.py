"""Builds the notifiers from settings: the adapters the notify_* handlers wire together.

Containers keep the state store and the secret cache across invocations; the senders are built per
invocation because their retry loop is bounded by that invocation's remaining time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics

from netguard.clients import aws
from netguard.config.notify import DeliverySettings, PagerDutySettings, SlackMode, SlackSettings
from netguard.notify.http import Budget, RetryPolicy, Transport, UrllibTransport
from netguard.notify.notifier import DAY, EventLedger, Notifier
from netguard.notify.pagerduty import PagerDutyClient, PagerDutyNotifier, PagerDutyOptions
from netguard.notify.runner import handle_event
from netguard.notify.secrets import SecretCache
from netguard.notify.slack import SlackApi, SlackNotifier, SlackWebhook
from netguard.state import DynamoStore, OwnedStore, Owner, StateReader, StateStore


class _NotifierSettings(Protocol):
    @property
    def delivery(self) -> DeliverySettings: ...


SettingsT = TypeVar("SettingsT", bound=_NotifierSettings)


@dataclass
class Runtime:
    """What one warm container keeps."""

    store: StateStore
    """The function's own partitions."""
    slack_refs: StateReader
    """Slack's message references (PagerDuty links to the thread)."""
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
    table = DynamoStore(dynamodb, delivery.state_table)
    legacy = delivery.legacy_state_reads
    store = OwnedStore.of(table, Owner(receiver), read_legacy=legacy)
    return Runtime(
        store=store,
        slack_refs=OwnedStore.of(table, Owner.SLACK, read_legacy=legacy),
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
    return PagerDutyNotifier(runtime.store, client, options, slack_refs=runtime.slack_refs)


class NotifierFunction(Generic[SettingsT]):
    """What a notify_* handler keeps per container, and its invocation: both handlers differ only in
    their settings, receiver and notifier factory, so the wiring is written once here."""

    def __init__(
        self,
        function: str,
        receiver: str,
        load_settings: Callable[[], SettingsT],
        make_notifier: Callable[[SettingsT, Runtime, Budget], Notifier],
    ) -> None:
        self.function, self.receiver = function, receiver
        self._load_settings, self._make_notifier = load_settings, make_notifier
        self._container: tuple[SettingsT, Runtime] | None = None

    def container(self) -> tuple[SettingsT, Runtime]:
        """Settings and adapters of this container, built from the environment on first use."""
        if self._container is None:
            settings = self._load_settings()
            runtime = build_runtime(
                settings.delivery,
                self.function,
                self.receiver,
                dynamodb=aws.client("dynamodb"),
                secretsmanager=aws.client("secretsmanager"),
            )
            self._container = (settings, runtime)
        return self._container

    def reset(self) -> None:
        """Forget the container's settings and caches (tests that change the environment)."""
        self._container = None

    def handle(self, event: Mapping[str, Any], context: Any, *, log: Logger, emf: Metrics) -> dict[str, Any]:
        settings, runtime = self.container()
        budget = Budget.from_context(context)
        return handle_event(
            event,
            notifier=lambda: self._make_notifier(settings, runtime, budget),
            ledger=runtime.ledger,
            budget=budget,
            log=log,
            emf=emf,
            receiver=self.receiver,
        )
