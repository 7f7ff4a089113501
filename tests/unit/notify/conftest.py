"""Notifiers wired to the strict local receivers and an in-memory state store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from netguard.notify import (
    Budget,
    PagerDutyClient,
    PagerDutyNotifier,
    PagerDutyOptions,
    RetryPolicy,
    Secret,
    SlackApi,
    SlackNotifier,
    SlackWebhook,
    UrllibTransport,
)
from netguard.state import MemoryStore
from tests.support.receivers import (
    CHANNEL,
    ROUTING_KEY,
    SLACK_TOKEN,
    PagerDutyReceiver,
    SlackReceiver,
)

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, attempt_timeout=1.0, reserve=0.5)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def budget() -> Budget:
    return Budget(lambda: 30.0)


@pytest.fixture
def slack_bot(
    store: MemoryStore, slack_receiver: SlackReceiver, budget: Budget
) -> Callable[..., SlackNotifier]:
    def build(*, token: str = SLACK_TOKEN, channel: str = CHANNEL, **kwargs: Any) -> SlackNotifier:
        api = SlackApi(slack_receiver.api_url, Secret(token), UrllibTransport("slack"), budget, FAST)
        return SlackNotifier(store, api=api, channel=channel, wait_for_post_seconds=3.0, **kwargs)

    return build


@pytest.fixture
def slack_hook(
    store: MemoryStore, slack_receiver: SlackReceiver, budget: Budget
) -> Callable[..., SlackNotifier]:
    def build(**kwargs: Any) -> SlackNotifier:
        hook = SlackWebhook(Secret(slack_receiver.webhook_url), UrllibTransport("slack"), budget, FAST)
        return SlackNotifier(store, webhook=hook, **kwargs)

    return build


@pytest.fixture
def pagerduty(
    store: MemoryStore, pagerduty_receiver: PagerDutyReceiver, budget: Budget
) -> Callable[..., PagerDutyNotifier]:
    def build(*, routing_key: str = ROUTING_KEY, **options: Any) -> PagerDutyNotifier:
        client = PagerDutyClient(
            pagerduty_receiver.url, Secret(routing_key), UrllibTransport("pagerduty"), budget, FAST
        )
        return PagerDutyNotifier(store, client, PagerDutyOptions(**options))

    return build
