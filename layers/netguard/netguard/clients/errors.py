"""Errors of the shared clients: the kind of failure is the type, so callers never handle urllib3's."""

from __future__ import annotations

from netguard.errors import NetguardError, PermanentError, RetryableError


class PrometheusError(NetguardError):
    """A Prometheus / AMP instant query failed; `source` and `detail` are what enrichment records."""

    source = "prometheus"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = message


class PrometheusUnavailable(PrometheusError, RetryableError):
    """The endpoint could not be reached, timed out, or answered 429/5xx: a later query may succeed."""


class PrometheusRejected(PrometheusError, PermanentError):
    """The endpoint refused the query (4xx, or `status: error` such as a PromQL parse error)."""


class PrometheusBadAnswer(PrometheusError, PermanentError):
    """The answer was not an instant vector in Prometheus's JSON shape."""


class PrometheusNoCredentials(PrometheusError, PermanentError):
    """A SigV4-signed (AMP) query was asked for but there are no AWS credentials to sign with."""
