"""Thin Slack senders: the Web API with a bot token, and incoming webhooks.

Each request goes through the shared retry loop; Slack's quirk (HTTP 200 with `ok: false`) is
classified here: rate limits and internal errors retry, a vanished message is `MessageGone`,
anything else (`invalid_auth`, `channel_not_found`, ...) is permanent.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from netguard.notify.errors import DeliveryPermanent, DeliveryRetryable, MessageGone
from netguard.notify.http import (
    Budget,
    HttpResponse,
    RetryPolicy,
    Transport,
    classify,
    redact,
    retry_after_seconds,
    with_retries,
)
from netguard.notify.models import Json, SlackRef
from netguard.notify.secrets import Secret

log = logging.getLogger(__name__)

RECEIVER = "slack"
RETRYABLE_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
GONE_ERRORS = frozenset(
    {"message_not_found", "thread_not_found", "cant_update_message", "edit_window_closed"}
)


def check_api_answer(method: str, response: HttpResponse) -> Mapping[str, Any]:
    """The JSON body of a Web API call that succeeded; raise the classified error otherwise."""
    classify(RECEIVER, response, where=f"slack {method}")
    body = response.json()
    if not isinstance(body, dict):
        raise DeliveryRetryable(RECEIVER, "bad_response", f"{method} answered something that is not JSON")
    if body.get("ok") is True:
        return body
    error = str(body.get("error") or "unknown_error")
    if error in RETRYABLE_ERRORS:
        raise DeliveryRetryable(
            RECEIVER,
            error,
            f"{method} failed: {error}",
            retry_after=retry_after_seconds(response.header("Retry-After")),
        )
    if error in GONE_ERRORS:
        raise MessageGone(RECEIVER, error, f"{method} failed: {error}")
    raise DeliveryPermanent(RECEIVER, error, f"{method} failed: {error}")


class SlackApi:
    """chat.postMessage / chat.update / chat.getPermalink with a bot token."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        transport: Transport,
        budget: Budget,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._transport = transport
        self._budget = budget
        self._policy = policy
        self._sleep = sleep

    def _call(self, method: str, payload: Mapping[str, Any], *, form: bool = False) -> Mapping[str, Any]:
        url = f"{self._base}/{method}"
        if form:
            body = urllib.parse.urlencode(payload).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            content_type = "application/json; charset=utf-8"
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {self._token.reveal()}"}

        def attempt(timeout: float) -> Mapping[str, Any]:
            return check_api_answer(method, self._transport.post(url, body, headers, timeout))

        return with_retries(
            attempt, budget=self._budget, policy=self._policy, sleep=self._sleep, what=f"slack {method}"
        )

    def post(self, channel: str, message: Json, *, thread_ts: str = "") -> SlackRef:
        payload = {**message, "channel": channel, "unfurl_links": False, "unfurl_media": False}
        if thread_ts:
            payload["thread_ts"] = thread_ts
        body = self._call("chat.postMessage", payload)
        return SlackRef(channel=str(body.get("channel") or channel), ts=str(body.get("ts") or ""))

    def update(self, ref: SlackRef, message: Json) -> None:
        self._call("chat.update", {**message, "channel": ref.channel, "ts": ref.ts})

    def permalink(self, ref: SlackRef) -> str:
        """The message's permalink, or "" when Slack would not say (never fatal)."""
        try:
            body = self._call("chat.getPermalink", {"channel": ref.channel, "message_ts": ref.ts}, form=True)
        except (DeliveryPermanent, DeliveryRetryable) as exc:
            log.warning("no permalink for the slack message: %s", exc)
            return ""
        return str(body.get("permalink") or "")


class SlackWebhook:
    """An incoming webhook: it can only post, to the channel it was created for."""

    def __init__(
        self,
        url: Secret,
        transport: Transport,
        budget: Budget,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url
        self._transport = transport
        self._budget = budget
        self._policy = policy
        self._sleep = sleep

    def post(self, message: Json) -> None:
        url = self._url.reveal()
        where = f"slack webhook {redact(url)}"
        body = json.dumps(
            {**message, "unfurl_links": False}, separators=(",", ":"), ensure_ascii=False
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}

        def attempt(timeout: float) -> None:
            response = self._transport.post(url, body, headers, timeout)
            if response.status == 200 or 200 <= response.status < 300:
                return
            # Webhooks answer plain-text error codes with 4xx statuses (e.g. 404 channel_not_found).
            text = response.body[:100].decode("utf-8", errors="replace").strip()
            if response.status in (429,) or response.status >= 500 or response.status == 408:
                classify(RECEIVER, response, where=where)
            code = text if text.replace("_", "").isalnum() else f"http_{response.status}"
            raise DeliveryPermanent(RECEIVER, code, f"{where} refused the message: {response.status} {code}")

        with_retries(
            attempt, budget=self._budget, policy=self._policy, sleep=self._sleep, what="slack webhook"
        )
