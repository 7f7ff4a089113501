"""The gate's fresh check: current linklocal drop rates per node from a Prometheus-compatible API.

Works with a local Prometheus (plain HTTP) and with an AMP workspace's query endpoint (SigV4,
service `aps`). Any failure yields "no data", which the gate treats as unknown, never as recovered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlparse

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from netguard.clients import aws
from netguard.remediate.gate import FreshRates

log = logging.getLogger(__name__)

Sample = tuple[Mapping[str, str], float]
QueryFunction = Callable[[str], Sequence[Sample]]

DROPS_QUERY = (
    'sum by (instance) (rate(node_net_ethtool{type="linklocal_allowance_exceeded"}[2m]))'
    " or sum by (instance) (rate(node_ethtool_linklocal_allowance_exceeded[2m]))"
    " or sum by (instance) (rate(ethtool_linklocal_allowance_exceeded[2m]))"
)
"""The three exporters' spellings of the counter (see FACTS.md), summed over devices per instance."""


def drop_rates(query: QueryFunction, *, promql: str = DROPS_QUERY) -> FreshRates:
    """A `FreshRates` over `query`; series are matched to nodes by their `instance` label."""

    def fresh(instances: Mapping[str, str]) -> Mapping[str, float | None]:
        try:
            samples = query(promql)
        except Exception as exc:  # noqa: BLE001 - any failure is "no data", by design
            log.warning("fresh drop-rate query failed: %s", exc)
            return dict.fromkeys(instances)
        by_instance = {labels.get("instance", ""): value for labels, value in samples}
        by_host = {key.rsplit(":", 1)[0]: value for key, value in by_instance.items()}
        result: dict[str, float | None] = {}
        for node, instance in instances.items():
            value = by_instance.get(instance)
            if value is None and instance:
                value = by_host.get(instance.rsplit(":", 1)[0])
            result[node] = value
        return result

    return fresh


def http_query(
    base_url: str, *, region: str | None = None, timeout: float = 5.0, credentials: Any | None = None
) -> QueryFunction:
    """An instant-query function for `base_url` (SigV4-signed for AMP workspaces)."""
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2.0, read=timeout), retries=False)
    signed = "aps-workspaces" in (urlparse(base_url).hostname or "")

    def query(promql: str) -> Sequence[Sample]:
        url = base_url.rstrip("/") + "/api/v1/query?" + urlencode({"query": promql})
        headers: dict[str, str] = {}
        if signed:
            headers = _sigv4_headers(url, region or "us-east-1", credentials)
        response = pool.request("GET", url, headers=headers)
        if response.status != 200:
            raise RuntimeError(f"query endpoint answered HTTP {response.status}")
        body = json.loads(response.data)
        if body.get("status") != "success":
            raise RuntimeError(f"query failed: {body.get('error', 'unknown error')}")
        samples: list[Sample] = []
        for series in body.get("data", {}).get("result", []):
            try:
                samples.append((series.get("metric", {}), float(series["value"][1])))
            except (KeyError, IndexError, TypeError, ValueError):
                continue
        return samples

    return query


def _sigv4_headers(url: str, region: str, credentials: Any) -> dict[str, str]:
    creds = credentials if credentials is not None else aws.session(region).get_credentials()
    if creds is None:
        raise RuntimeError("no AWS credentials to sign the query with")
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(creds, "aps", region).add_auth(request)
    return dict(request.headers.items())
