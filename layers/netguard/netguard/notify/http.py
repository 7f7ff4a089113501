"""HTTP for the notifiers: one transport, one response classifier, URL redaction, one retry loop.

Receivers add only their quirks (Slack's HTTP 200 with `ok: false`). The retry loop is bounded by
the Lambda's remaining time: it gives up early, with a `RetryableError`, rather than be killed.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Protocol, TypeVar

from netguard.errors import RetryableError
from netguard.notify.errors import DeliveryPermanent, DeliveryRetryable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), "")

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class Transport(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        """Send; return any HTTP answer; raise `DeliveryRetryable` when no answer came."""


def redact(url: str) -> str:
    """Scheme and host only: webhook URLs carry their secret in the path, API keys in the query."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or not parts.netloc:
        return "<redacted url>"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


class UrllibTransport:
    """`Transport` over the standard library (no extra dependency in the layer)."""

    def __init__(self, receiver: str) -> None:
        self._receiver = receiver

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        if not url.startswith(("http://", "https://")):
            raise DeliveryPermanent(self._receiver, "bad_url", f"not an http(s) URL: {redact(url)}")
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        where = redact(url)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured base URL
                return HttpResponse(response.status, response.read(), _headers(response.headers))
        except urllib.error.HTTPError as exc:
            return HttpResponse(exc.code, exc.read() if exc.fp else b"", _headers(exc.headers))
        except TimeoutError:
            raise DeliveryRetryable(
                self._receiver, "timeout", f"no answer from {where} within {timeout:.1f}s"
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise DeliveryRetryable(
                    self._receiver, "timeout", f"no answer from {where} within {timeout:.1f}s"
                ) from None
            raise DeliveryRetryable(
                self._receiver, "connection", f"cannot reach {where}: {type(reason).__name__}"
            ) from None
        except (ConnectionError, OSError) as exc:
            raise DeliveryRetryable(
                self._receiver, "connection", f"cannot reach {where}: {type(exc).__name__}"
            ) from None


def _headers(message: Message | None) -> dict[str, str]:
    return dict(message.items()) if message is not None else {}


def retry_after_seconds(value: str) -> float | None:
    """A `Retry-After` header in seconds (delta-seconds only; HTTP dates are rare from these APIs)."""
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


def classify(receiver: str, response: HttpResponse, *, where: str) -> None:
    """Return for 2xx; raise `DeliveryRetryable` for 408/429/5xx, `DeliveryPermanent` for the rest."""
    status = response.status
    if 200 <= status < 300:
        return
    detail = _short_body(response.body)
    if status == 429:
        retry_after = retry_after_seconds(response.header("Retry-After"))
        raise DeliveryRetryable(
            receiver,
            "http_429",
            f"rate limited by {where} (Retry-After {retry_after})",
            retry_after=retry_after,
        )
    if status == 408 or status >= 500:
        raise DeliveryRetryable(receiver, f"http_{status}", f"{where} answered {status}{detail}")
    raise DeliveryPermanent(receiver, f"http_{status}", f"{where} refused the request: {status}{detail}")


def _short_body(body: bytes) -> str:
    text = body[:200].decode("utf-8", errors="replace").strip()
    return f" ({text})" if text else ""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    attempt_timeout: float = 10.0
    """Seconds one HTTP request may take."""
    reserve: float = 2.0
    """Seconds kept back from the Lambda's remaining time for recording the outcome."""


class Budget:
    """The time this invocation has left, from the Lambda context (or a fixed amount in tests)."""

    def __init__(self, remaining_seconds: Callable[[], float]) -> None:
        self._remaining = remaining_seconds

    @classmethod
    def from_context(cls, context: Any, *, default_seconds: float = 60.0) -> Budget:
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if getter is None:
            deadline = time.monotonic() + default_seconds
            return cls(lambda: deadline - time.monotonic())
        return cls(lambda: float(getter()) / 1000.0)

    def remaining(self) -> float:
        return self._remaining()


def with_retries(
    operation: Callable[[float], T],
    *,
    budget: Budget,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "request",
) -> T:
    """Run `operation(timeout)` until it succeeds, fails permanently, or time/attempts run out.

    Waits the receiver's Retry-After when given, else exponential backoff with full jitter. Gives up
    (re-raising the last retryable error) when the wait plus a minimal attempt would not fit.
    """
    attempt = 0
    while True:
        attempt += 1
        available = budget.remaining() - policy.reserve
        if available <= 0.5:
            raise DeliveryRetryable("notify", "no_time", f"no time left for {what} (attempt {attempt})")
        try:
            return operation(min(policy.attempt_timeout, available))
        except RetryableError as exc:
            if attempt >= policy.max_attempts:
                log.warning("giving up on %s after %d attempts: %s", what, attempt, exc)
                raise
            backoff = random.uniform(0, min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)))  # noqa: S311
            delay = exc.retry_after if exc.retry_after is not None else backoff
            if delay + 1.0 > budget.remaining() - policy.reserve:
                log.warning("giving up on %s: waiting %.1fs would exceed the time left: %s", what, delay, exc)
                raise
            log.info("retrying %s in %.1fs (attempt %d): %s", what, delay, attempt, exc)
            sleep(delay)
