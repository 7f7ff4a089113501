"""Kubernetes API failures as netguard errors, so callers never handle the official client's.

`netguard.clients.kubernetes` raises these (mapped from `ApiException` and urllib3 errors); this
module imports nothing from `kubernetes`, so policies and the notifiers can name them cheaply.
"""

from __future__ import annotations

from netguard.errors import NetguardError, RetryableError


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
