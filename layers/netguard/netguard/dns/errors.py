"""Errors raised while observing cluster DNS."""

from __future__ import annotations

from netguard.errors import PermanentError


class DnsObservationError(PermanentError):
    """The cluster has no recognisable CoreDNS Deployment (or its objects are malformed)."""
