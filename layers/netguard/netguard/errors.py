"""The root of every exception netguard raises on purpose.

Handlers map the kind of failure to the Lambda outcome: a `RetryableError` is re-raised so Lambda
retries and the failure destination keeps the event; a `PermanentError` is recorded and not retried.
"""

from __future__ import annotations


class NetguardError(Exception):
    """Base class of all netguard errors."""


class ConfigError(NetguardError):
    """A setting is missing or invalid; the message names the setting and what it should be."""


class RetryableError(NetguardError):
    """A transient failure (throttling, 5xx, a timeout): trying again later may succeed."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(NetguardError):
    """A failure that trying again will not fix (bad credentials, a missing channel, bad input)."""
