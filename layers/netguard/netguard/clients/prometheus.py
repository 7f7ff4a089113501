"""One instant-query client for a Prometheus-compatible API, shared by enrichment and remediation.

AMP's query URL is SigV4-signed (service `aps`) whenever a signing region is given; a local
Prometheus is queried plainly. Callers own their PromQL and the shaping of the result; this module
owns HTTP, signing and the Prometheus JSON envelope, and turns every failure into a typed
`PrometheusError`. Written on urllib3 (which botocore already brings) because no well-kept
Prometheus client signs with SigV4, and the API used is one POST.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from netguard.clients import aws
from netguard.clients.errors import (
    PrometheusBadAnswer,
    PrometheusNoCredentials,
    PrometheusRejected,
    PrometheusUnavailable,
)

Sample = tuple[Mapping[str, str], float]
"""One series of an instant vector: its labels and its value."""
CredentialsProvider = Callable[[], Any]
"""Returns botocore credentials (or None) each time a query is signed, so rotation is picked up."""

_RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


class PrometheusClient:
    """Instant queries against `<base_url>/api/v1/query`; SigV4-signed when `sigv4_region` is given."""

    def __init__(
        self,
        base_url: str,
        *,
        sigv4_region: str | None = None,
        credentials: CredentialsProvider | None = None,
        timeout: float = 5.0,
        pool: urllib3.PoolManager | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._region = sigv4_region
        if credentials is None and sigv4_region:
            region = sigv4_region
            credentials = lambda: aws.session(region).get_credentials()  # noqa: E731 - a one-line default
        self._credentials = credentials
        # No urllib3 retries: each caller decides (enrichment records an error, the gate says "unknown").
        self._pool = pool or urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2.0, read=timeout), retries=False
        )
        self.calls: dict[str, int] = {}
        """Queries made, keyed "prometheus query" (enrichment reports calls per group)."""

    def query(self, promql: str) -> list[Sample]:
        """The instant vector of `promql`, as (labels, value) pairs."""
        self.calls["prometheus query"] = self.calls.get("prometheus query", 0) + 1
        url = f"{self.base_url}/api/v1/query"
        # POST with a form body: long PromQL never hits a URL length limit; AMP and Prometheus accept it.
        body = urlencode({"query": promql})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self._region:
            headers = self._signed_headers(url, body, headers)
        try:
            response = self._pool.request("POST", url, body=body.encode(), headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise PrometheusUnavailable(f"query failed: {type(exc).__name__}: {exc}") from exc
        if response.status != 200:
            text = response.data[:200].decode("utf-8", "replace")
            error = PrometheusUnavailable if response.status in _RETRYABLE_STATUS else PrometheusRejected
            raise error(f"query answered HTTP {response.status}: {text}")
        return parse_vector(response.data)

    def _signed_headers(self, url: str, body: str, headers: dict[str, str]) -> dict[str, str]:
        credentials = self._credentials() if self._credentials else None
        if credentials is None or not self._region:
            raise PrometheusNoCredentials("no AWS credentials to sign the AMP query with")
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(credentials, "aps", self._region).add_auth(request)
        return dict(request.headers.items())


def parse_vector(data: bytes) -> list[Sample]:
    """The (labels, value) pairs of a Prometheus instant-query answer; anything else is an error."""
    try:
        payload = json.loads(data)
        if payload.get("status") != "success":
            kind, error = payload.get("errorType", ""), payload.get("error", "")
            raise PrometheusRejected(f"query failed: {kind} {error}")
        result = payload["data"]
        if result.get("resultType") != "vector":
            raise PrometheusBadAnswer(f"expected an instant vector, got {result.get('resultType')!r}")
        return [(dict(item["metric"]), float(item["value"][1])) for item in result["result"]]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise PrometheusBadAnswer(f"unexpected answer: {exc!r}") from exc
