"""Errors of the shared clients: the kind of failure is the type, so callers never handle the
official Kubernetes client's or urllib3's.

`netguard.clients.kubernetes` raises the Kube* errors (mapped from `ApiException` and urllib3 errors);
`netguard.clients.prometheus` the Prometheus* ones. This module imports nothing from `kubernetes`, so
policies and the notifiers can name them cheaply.
"""

from __future__ import annotations

from netguard.errors import NetguardError, PermanentError, RetryableError


class KubeApiError(NetguardError):
    """A request the API server refused, or that never reached it."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        verb: str,
        path: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{verb} {path}: HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.api_message = message
        self.verb = verb
        self.path = path
        self.retry_after = retry_after
        """Seconds from the `Retry-After` header, when the server sent one."""


class KubeNotFound(KubeApiError):
    """404."""


class KubeForbidden(KubeApiError):
    """401 or 403: the identity may not do this."""


class KubeConflict(KubeApiError):
    """409: a stale resourceVersion, an existing object, or a field owned by another manager."""


class KubeUnavailable(KubeApiError, RetryableError):
    """429, 5xx or no connection: the API server may answer later."""


class KubeTooManyRequests(KubeUnavailable):
    """429: throttled, or an eviction a PodDisruptionBudget does not allow now (see `retry_after`)."""


def kube_error_for(
    status: int,
    reason: str,
    message: str,
    *,
    verb: str,
    path: str,
    retry_after: float | None = None,
) -> KubeApiError:
    """The netguard error for an HTTP status (0: no answer at all)."""
    error_type: type[KubeApiError]
    if status == 404:
        error_type = KubeNotFound
    elif status in (401, 403):
        error_type = KubeForbidden
    elif status == 409:
        error_type = KubeConflict
    elif status == 429:
        error_type = KubeTooManyRequests
    elif status == 0 or status >= 500:
        error_type = KubeUnavailable
    else:
        error_type = KubeApiError
    return error_type(status, reason or str(status), message, verb=verb, path=path, retry_after=retry_after)


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
