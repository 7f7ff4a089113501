"""Errors of remediation: the kind of failure decides whether Lambda retries."""

from __future__ import annotations

from netguard.errors import NetguardError, PermanentError, RetryableError


class RemediateError(NetguardError):
    """Base class of remediation errors."""


class LockBusy(RemediateError, RetryableError):
    """Another invocation holds the cluster's remediation lock for longer than we may wait."""


class BadFollowUp(RemediateError, PermanentError):
    """An SQS follow-up message this version does not understand."""
