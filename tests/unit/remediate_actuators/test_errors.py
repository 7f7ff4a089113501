"""Kubernetes and AWS failures become fatal or retryable actuator errors, decided in one place."""

from __future__ import annotations

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ReadTimeoutError

from netguard.clients.kubernetes import (
    KubeApiError,
    KubeConflict,
    KubeForbidden,
    KubeNotFound,
    KubeUnavailable,
)
from netguard.errors import NetguardError, PermanentError, RetryableError
from netguard.remediate.actuators import ActuatorError, ActuatorRetryable
from netguard.remediate.actuators.errors import aws_error, kube_error

PATH = "/apis/apps/v1/namespaces/kube-system/deployments/coredns/scale"


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {
                "RequestId": "r",
                "HostId": "h",
                "HTTPStatusCode": status,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        },
        "UpdateAddon",
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (KubeForbidden(403, "Forbidden", "denied", verb="PATCH", path=PATH), ActuatorError),
        (KubeNotFound(404, "NotFound", "gone", verb="GET", path=PATH), ActuatorError),
        (KubeApiError(422, "Invalid", "bad", verb="PATCH", path=PATH), ActuatorError),
        (KubeConflict(409, "Conflict", "modified", verb="PATCH", path=PATH), ActuatorRetryable),
        (KubeUnavailable(503, "ServiceUnavailable", "down", verb="PATCH", path=PATH), ActuatorRetryable),
        (KubeUnavailable(429, "TooManyRequests", "slow", verb="PATCH", path=PATH), ActuatorRetryable),
    ],
)
def test_kube_errors(error: KubeApiError, kind: type[NetguardError]) -> None:
    """Each Kubernetes failure maps to one kind, and the message names the action."""
    mapped = kube_error(error, "scale coredns")
    assert type(mapped) is kind
    assert str(mapped).startswith("scale coredns:")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (client_error("ThrottlingException", 400), ActuatorRetryable),
        (client_error("ResourceInUseException", 409), ActuatorRetryable),
        (client_error("ServerException", 500), ActuatorRetryable),
        (client_error("Unknown", 503), ActuatorRetryable),
        (client_error("AccessDeniedException", 403), ActuatorError),
        (client_error("InvalidParameterException", 400), ActuatorError),
        (client_error("ResourceNotFoundException", 404), ActuatorError),
        (EndpointConnectionError(endpoint_url="https://eks.us-east-1.amazonaws.com"), ActuatorRetryable),
        (ReadTimeoutError(endpoint_url="https://eks.us-east-1.amazonaws.com"), ActuatorRetryable),
    ],
)
def test_aws_errors(error: BotoCoreError | ClientError, kind: type[NetguardError]) -> None:
    """botocore failures map by error code and status; connection trouble is retryable."""
    assert type(aws_error(error, "update add-on")) is kind


def test_kinds_fit_the_handlers_mapping() -> None:
    """Handlers retry RetryableError and record PermanentError; both are NetguardErrors."""
    assert issubclass(ActuatorError, PermanentError)
    assert issubclass(ActuatorRetryable, RetryableError)
