"""Errors of the actuators: fatal (`ActuatorError`) or worth retrying (`ActuatorRetryable`).

Kubernetes and botocore failures are classified once here (`kube_error`, `aws_error`), so the
actuators and their callers never handle raw client errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from netguard.clients.errors import (
    KubeApiError,
    KubeConflict,
    KubeForbidden,
    KubeNotFound,
    KubeUnavailable,
)
from netguard.errors import PermanentError, RetryableError

_RETRYABLE_AWS_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServerException",
        "ServiceUnavailableException",
        "InternalFailure",
        "ResourceInUseException",  # another add-on update is still running
    }
)


class ActuatorError(PermanentError):
    """The change cannot be made as asked; retrying will not help. The message says why."""


class ActuatorRetryable(RetryableError):
    """The change could not be made now (conflict, throttling, API down); try again later."""


def kube_error(exc: KubeApiError, action: str) -> ActuatorError | ActuatorRetryable:
    """The actuator error for a failed Kubernetes request made while doing `action`."""
    if isinstance(exc, KubeForbidden):
        return ActuatorError(
            f"{action}: the remediation identity may not {exc.verb} {exc.path} "
            f"(HTTP {exc.status}); grant it in deploy/rbac/: {exc.api_message}"
        )
    if isinstance(exc, KubeConflict):
        return ActuatorRetryable(f"{action}: changed by someone else meanwhile, re-read and retry: {exc}")
    if isinstance(exc, KubeUnavailable):
        return ActuatorRetryable(f"{action}: API server unavailable: {exc}")
    if isinstance(exc, KubeNotFound):
        return ActuatorError(f"{action}: not found: {exc}")
    return ActuatorError(f"{action}: {exc}")


def aws_error(exc: BotoCoreError | ClientError, action: str) -> ActuatorError | ActuatorRetryable:
    """The actuator error for a failed AWS call made while doing `action`."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _RETRYABLE_AWS_CODES or status == 429 or status >= 500:
            return ActuatorRetryable(f"{action}: {code or status}: {exc}")
        return ActuatorError(f"{action}: {code or status}: {exc}")
    if isinstance(exc, ConnectionError | HTTPClientError):
        return ActuatorRetryable(f"{action}: cannot reach the AWS endpoint: {exc}")
    return ActuatorError(f"{action}: {exc}")


@contextmanager
def kube_errors(action: str) -> Iterator[None]:
    """Re-raise Kubernetes client errors inside the block as actuator errors about `action`."""
    try:
        yield
    except KubeApiError as exc:
        raise kube_error(exc, action) from exc


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Re-raise botocore errors inside the block as actuator errors about `action`."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise aws_error(exc, action) from exc
