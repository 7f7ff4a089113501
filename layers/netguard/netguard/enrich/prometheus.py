"""Optional: the current rate of an alert's counter per node, from AMP or any Prometheus-compatible
URL (through the shared `netguard.clients.prometheus` client), and a graph link per alert.

One instant query per distinct counter in a group (at most five), never one per alert.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from netguard.alerts.models import AllowanceKind
from netguard.clients.prometheus import PrometheusClient
from netguard.clients.promql import promql_string, scoped
from netguard.enrich.models import AlertTarget, DropRates

log = logging.getLogger(__name__)

DEFAULT_QUERY = 'sum by (instance) (netguard:ena_allowance_exceeded:rate2m{type="{counter}"})'
"""`{counter}` becomes e.g. `linklocal_allowance_exceeded`, `{cluster}` the alert's cluster. The series
is amp/rules.yaml's normalization of either exporter dialect; its `instance` is the node's address
without the exporter's port, so it matches an alert from either exporter by IP."""

COUNTERS: Mapping[AllowanceKind, str] = {
    AllowanceKind.LINKLOCAL: "linklocal_allowance_exceeded",
    AllowanceKind.PPS: "pps_allowance_exceeded",
    AllowanceKind.BW_IN: "bw_in_allowance_exceeded",
    AllowanceKind.BW_OUT: "bw_out_allowance_exceeded",
    AllowanceKind.CONNTRACK: "conntrack_allowance_exceeded",
}
"""Counters with a meaningful drop rate (`conntrack_allowance_available` is a gauge)."""


def render(template: str, values: Mapping[str, str], *, url_encode: bool = False) -> str:
    """Replace `{name}` placeholders literally (PromQL braces are left alone)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", quote(value, safe="") if url_encode else value)
    return template


class PrometheusEnricher:
    """Drop rates per (instance, counter) and graph links for a group's alerts."""

    def __init__(
        self,
        client: PrometheusClient,
        *,
        query_template: str = DEFAULT_QUERY,
        graph_url_template: str | None = None,
        cluster_label: str | None = None,
    ) -> None:
        self._client = client
        self._query = query_template
        self._cluster_label = cluster_label
        self._graph = graph_url_template
        if self._graph is None and "aps-workspaces" not in client.base_url:
            self._graph = client.base_url + "/graph?g0.expr={expr}&g0.tab=0&g0.range_input=1h"

    @property
    def calls(self) -> Mapping[str, int]:
        return dict(self._client.calls)

    def query_for(self, counter: str, cluster: str) -> str:
        """The configured query for one counter, scoped to `cluster` by the cluster label's matcher
        when one is configured; a `{cluster}` placeholder gets the name escaped as PromQL string
        content (the placeholder stands inside quotes), so no cluster name can change the query."""
        text = render(self._query, {"counter": counter, "cluster": promql_string(cluster)[1:-1]})
        return scoped(text, self._cluster_label, cluster)

    def drop_rates(self, wanted: Iterable[tuple[str, str]]) -> DropRates:
        """Rates for every (cluster, counter) pair: one query per distinct pair."""
        rates: dict[tuple[str, str], float] = {}
        for cluster, counter in sorted(set(wanted)):
            for labels, value in self._client.query(self.query_for(counter, cluster)):
                instance = labels.get("instance", "")
                if not instance:
                    continue
                host = instance.rsplit(":", 1)[0] if instance.count(":") == 1 else instance
                for key in {instance, host}:
                    rates[(key, counter)] = rates.get((key, counter), 0.0) + value
        return DropRates(rates=rates)

    def graph_url(
        self, target: AlertTarget, counter: str, *, alertname: str, node: str = "", instance_id: str = ""
    ) -> str:
        if not self._graph:
            return ""
        values = {
            "expr": self.query_for(counter, target.cluster),
            "cluster": target.cluster,
            "counter": counter,
            "instance": target.instance_label,
            "ip": target.ip,
            "node": node or target.node_name,
            "instance_id": instance_id or target.instance_id,
            "alertname": alertname,
        }
        return render(self._graph, values, url_encode=True)


def rate_for(rates: DropRates, target: AlertTarget, counter: str) -> float | None:
    """The rate of `counter` on the alert's target: by its exact `instance` label, else by IP."""
    for key in (target.instance_label, target.ip):
        if key and (key, counter) in rates.rates:
            return rates.rates[(key, counter)]
    return None
