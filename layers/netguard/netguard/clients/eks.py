"""Kubernetes access to an EKS cluster from a Lambda: endpoint, CA and a short-lived IAM token.

The token is `k8s-aws-v1.` + unpadded URL-safe base64 of a presigned STS GetCallerIdentity URL with
the cluster name signed in the `x-k8s-aws-id` header. It is valid for about 15 minutes; we refresh
at 14 so a request never carries an expired one: the official client asks the provider before every
request (`kube_for_endpoint`). The CA stays in memory. When a kubeconfig path is configured (tests,
the local stack) it is used instead.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.model import ServiceId
from botocore.signers import RequestSigner

from netguard.clients import aws
from netguard.errors import ConfigError

if TYPE_CHECKING:
    # Imported where a client is built: `ClusterAccess` is read by settings modules the notifiers
    # load too, and they must not pay for the official client's import.
    from netguard.clients.kubernetes import Kube

TOKEN_LIFETIME_SECONDS = 14 * 60
_ENDPOINT_LIFETIME_SECONDS = 3600


def eks_token(cluster_name: str, region: str, *, session: Any | None = None) -> str:
    """A bearer token for `cluster_name`, signed with the current IAM credentials."""
    boto_session = session or aws.session(region)
    credentials = boto_session.get_credentials()
    if credentials is None:
        raise ConfigError("no AWS credentials available to sign an EKS token")
    signer = RequestSigner(ServiceId("sts"), region, "sts", "v4", credentials, boto_session.events)
    request = {
        "method": "GET",
        "url": f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        "body": {},
        "headers": {"x-k8s-aws-id": cluster_name},
        "context": {},
    }
    url = signer.generate_presigned_url(request, region_name=region, expires_in=60, operation_name="")
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


class CachedToken:
    """A token provider that re-signs before the token's lifetime runs out."""

    def __init__(
        self,
        mint: Callable[[], str],
        *,
        lifetime: float = TOKEN_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mint = mint
        self._lifetime = lifetime
        self._clock = clock
        self._value = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._clock() >= self._expires:
                self._value = self._mint()
                self._expires = self._clock() + self._lifetime
            return self._value


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach one cluster's API server."""

    name: str
    """The EKS cluster name."""
    region: str
    kubeconfig: str | None = None
    """When set, this file is used instead of EKS (tests, the local stack)."""


_clients: dict[tuple[str, str, str | None], tuple[float, Kube]] = {}
_clients_lock = threading.Lock()


def kube_client(access: ClusterAccess, *, clock: Callable[[], float] = time.monotonic) -> Kube:
    """A Kubernetes client for a cluster, cached across warm invocations with a bounded lifetime."""
    key = (access.name, access.region, access.kubeconfig)
    with _clients_lock:
        cached = _clients.get(key)
        if cached and clock() < cached[0]:
            return cached[1]
        client = _build(access)
        _clients[key] = (clock() + _ENDPOINT_LIFETIME_SECONDS, client)
        return client


def clear() -> None:
    with _clients_lock:
        _clients.clear()


def _build(access: ClusterAccess) -> Kube:
    # Here, not at the top: settings modules the notifiers load import this module for ClusterAccess.
    from netguard.clients.kubernetes import kube_for_endpoint, kube_from_kubeconfig  # noqa: PLC0415

    if access.kubeconfig:
        return kube_from_kubeconfig(access.kubeconfig)
    described = aws.client("eks", access.region).describe_cluster(name=access.name)["cluster"]
    token = CachedToken(lambda: eks_token(access.name, access.region))
    return kube_for_endpoint(described["endpoint"], described["certificateAuthority"]["data"], token)
