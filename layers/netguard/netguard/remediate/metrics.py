"""The gate's fresh check: current linklocal drop rates per node from a Prometheus-compatible API.

The query itself goes through the shared `netguard.clients.prometheus` client (a local Prometheus,
or AMP with SigV4). Any failure yields "no data", which the gate treats as unknown, never as recovered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from netguard.clients.prometheus import Sample
from netguard.clients.promql import scoped
from netguard.remediate.gate import FreshRates
from netguard.remediate.load import ForwardRates

log = logging.getLogger(__name__)

QueryFunction = Callable[[str], Sequence[Sample]]

DROPS_QUERY = (
    'sum by (instance) (netguard:ena_allowance_exceeded:rate2m{type="linklocal_allowance_exceeded"})'
)
"""amp/rules.yaml's normalized rate of the counter (node_exporter's or the Showmax exporter's names),
summed over devices per node; `instance` is the node's address without the exporter's port."""


FORWARDS_QUERY = (
    "sum by (pod) (rate(coredns_forward_requests_total[2m]))"
    ' or sum by (pod) (rate(coredns_proxy_request_duration_seconds_count{proxy_name="forward"}[2m]))'
)
"""Queries each CoreDNS pod forwards upstream (to the VPC resolver) per second: before CoreDNS 1.11
the forward plugin's own counter, since then the shared proxy histogram's count."""


def forward_rates(
    query: QueryFunction, *, promql: str = FORWARDS_QUERY, cluster_label: str | None = None
) -> ForwardRates:
    """A `ForwardRates` over `query`; series are matched to pods by their `pod` label. With a
    `cluster_label`, the query carries the cluster's matcher (pod names repeat across clusters)."""

    def fresh(cluster: str) -> Mapping[str, float] | None:
        try:
            samples = query(scoped(promql, cluster_label, cluster))
        except Exception as exc:  # noqa: BLE001 - any failure is "no data", by design
            log.warning("CoreDNS forward-rate query failed: %s", exc)
            return None
        rates = {labels["pod"]: value for labels, value in samples if labels.get("pod")}
        return rates or None

    return fresh


def _host(address: str) -> str:
    """`10.0.1.5:9100` -> `10.0.1.5`, `[fd00::5]:9100` -> `[fd00::5]`; an address without a port as is
    (the normalized series carries none; an alert may carry either exporter's port)."""
    host, colon, port = address.rpartition(":")
    if colon and port.isdigit() and (":" not in host or host.endswith("]")):
        return host
    return address


def drop_rates(
    query: QueryFunction, *, promql: str = DROPS_QUERY, cluster_label: str | None = None
) -> FreshRates:
    """A `FreshRates` over `query`; series are matched to nodes by their `instance` label. With a
    `cluster_label`, the query carries the cluster's matcher: another cluster's node with the same IP
    in a shared workspace neither keeps a node persisting nor hides its recovery."""

    def fresh(cluster: str, instances: Mapping[str, str]) -> Mapping[str, float | None]:
        try:
            samples = query(scoped(promql, cluster_label, cluster))
        except Exception as exc:  # noqa: BLE001 - any failure is "no data", by design
            log.warning("fresh drop-rate query failed: %s", exc)
            return dict.fromkeys(instances)
        by_instance = {labels.get("instance", ""): value for labels, value in samples}
        by_host = {_host(key): value for key, value in by_instance.items()}
        result: dict[str, float | None] = {}
        for node, instance in instances.items():
            value = by_instance.get(instance)
            if value is None and instance:
                value = by_host.get(_host(instance))
            result[node] = value
        return result

    return fresh
