"""Errors of the enrichment adapters. The pipeline turns any of them into an `enrichment_errors`
entry; the handler only ever sees `PublishError` (retryable: nothing was lost, SNS redelivers).
"""

from __future__ import annotations

from netguard.errors import NetguardError, PermanentError, RetryableError


class EnrichError(NetguardError):
    """A look-up failed; `source` names what ("ec2", "kubernetes", "prometheus", ...)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message


class PublishError(RetryableError):
    """Publishing to the enriched topic failed; the handler raises so Lambda retries the message."""


class EventTooLarge(PermanentError):
    """One alert alone does not fit in an SNS message even after shortening its annotations."""


class MessageInFlight(RetryableError):
    """Another invocation is processing the same SNS message right now; Lambda's retry will find it done."""
