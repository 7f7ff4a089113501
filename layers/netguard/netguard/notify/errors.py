"""Errors of the notifiers: what failed, for which receiver, and whether trying again can help.

Messages never contain a secret or a webhook URL: callers build them from redacted URLs and from
the receiver's error code only.
"""

from __future__ import annotations

from netguard.errors import NetguardError, PermanentError, RetryableError


class NotifyError(NetguardError):
    """Base of the notification errors (never raised itself)."""


class DeliveryRetryable(RetryableError):
    """A receiver answered 429, 5xx or timed out: the same request may succeed later."""

    def __init__(self, receiver: str, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{receiver}: {message}", retry_after=retry_after)
        self.receiver = receiver
        self.code = code


class DeliveryPermanent(PermanentError):
    """A receiver refused the request for good (bad credentials, unknown channel, invalid payload)."""

    def __init__(self, receiver: str, code: str, message: str) -> None:
        super().__init__(f"{receiver}: {message}")
        self.receiver = receiver
        self.code = code


class MessageGone(DeliveryPermanent):
    """Slack no longer has the message or thread we referenced (`message_not_found` and friends)."""


class SecretUnavailable(RetryableError):
    """Secrets Manager could not be reached or throttled us."""


class SecretInvalid(PermanentError):
    """The secret is missing, not readable by this function, or does not hold the expected key."""


class ConcurrentDelivery(RetryableError):
    """Another invocation is posting the same group's message right now; try again shortly."""
