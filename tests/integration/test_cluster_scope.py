"""Two clusters with the same node IPs in one real Prometheus (Debian's 2.42): every query netguard
builds answers for its own cluster only, cluster names with quotes and backslashes included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netguard.clients.prometheus import PrometheusClient
from netguard.enrich.prometheus import DEFAULT_QUERY, PrometheusEnricher
from netguard.remediate.metrics import DROPS_QUERY, FORWARDS_QUERY, drop_rates, forward_rates
from netguard_cli.localstack.exporter import EthtoolExporter, SimulatedNode
from netguard_cli.localstack.processes import wait_until
from netguard_cli.localstack.prometheus import RunningPrometheus
from tests.support.prometheus import amp_prometheus

pytestmark = pytest.mark.integration

NODES = (
    SimulatedNode("ip-10-0-1-23.ec2.internal", "10.0.1.23"),
    SimulatedNode("ip-10-0-2-7.ec2.internal", "10.0.2.7"),
)
PROD = "prod"
OTHER = 'staging "b" \\ x'
"""A cluster label value PromQL must receive escaped (quotes, a backslash)."""
LINKLOCAL = "linklocal_allowance_exceeded"
INSTANCES = {n.name: n.instance() for n in NODES}


def _short(query: str) -> str:
    """The shipped queries with a 10 s window: full rates after a few 1 s scrapes, not 2 minutes."""
    return query.replace("[2m]", "[10s]")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """prod: drops on node 0 only; the other cluster, same IPs: drops on node 1 only. Each cluster's
    exporter is scraped through amp/scrape.yaml's relabelling (which sets `cluster`), and the shipped
    recording rules (scaled as the local stack scales them) make the normalized series the queries read."""
    exporters = {PROD: EthtoolExporter(NODES).start(), OTHER: EthtoolExporter(NODES).start()}
    try:
        exporters[PROD].set_rate(NODES[0].name, LINKLOCAL, 40.0)
        exporters[OTHER].set_rate(NODES[1].name, LINKLOCAL, 30.0)
        exporters[PROD].set_forwarding({"coredns-a": 1500.0})
        exporters[OTHER].set_forwarding({"coredns-a": 200.0})
        with amp_prometheus(exporters, Path(tmp_path_factory.mktemp("prometheus-clusters"))) as running:
            wait_until(
                lambda: len(running.query("netguard:ena_allowance_exceeded:rate2m")) >= 4,
                what="both clusters' normalized series recorded",
                timeout=60,
            )
            yield running
    finally:
        for exporter in exporters.values():
            exporter.stop()


def _near(value: float | None, expected: float) -> bool:
    return value is not None and abs(value - expected) <= max(1.0, 0.15 * expected)


def test_gate_fresh_check_is_per_cluster(prometheus: RunningPrometheus) -> None:
    """prod's node 1 is quiet although the other cluster's node of the same IP drops, and the other way
    round: no cluster keeps another's node persisting or hides its recovery."""
    fresh = drop_rates(
        PrometheusClient(prometheus.url).query, promql=_short(DROPS_QUERY), cluster_label="cluster"
    )

    def settled() -> bool:
        prod, other = fresh(PROD, INSTANCES), fresh(OTHER, INSTANCES)
        return (
            _near(prod[NODES[0].name], 40.0)
            and prod[NODES[1].name] == 0.0
            and other[NODES[0].name] == 0.0
            and _near(other[NODES[1].name], 30.0)
        )

    wait_until(settled, what="per-cluster drop rates", timeout=60)
    assert fresh("no-such-cluster", INSTANCES) == dict.fromkeys(INSTANCES)


def test_unscoped_queries_mix_clusters(prometheus: RunningPrometheus) -> None:
    """What a workspace without the label risks (CLUSTER_LABEL=none): both clusters answer together."""
    fresh = drop_rates(PrometheusClient(prometheus.url).query, promql=_short(DROPS_QUERY))
    wait_until(
        lambda: all(
            _near(fresh(PROD, INSTANCES)[n.name], rate) for n, rate in zip(NODES, (40.0, 30.0), strict=True)
        ),
        what="both clusters' drops in one unscoped answer",
        timeout=60,
    )


def test_forward_rates_per_cluster(prometheus: RunningPrometheus) -> None:
    """CoreDNS pods of the same name in two clusters: each cluster sees its own forward rate."""
    forwards = forward_rates(
        PrometheusClient(prometheus.url).query, promql=_short(FORWARDS_QUERY), cluster_label="cluster"
    )
    wait_until(
        lambda: (
            _near((forwards(PROD) or {}).get("coredns-a"), 1500.0)
            and _near((forwards(OTHER) or {}).get("coredns-a"), 200.0)
        ),
        what="per-cluster forward rates",
        timeout=60,
    )


def test_enrichment_rates_and_placeholder_are_per_cluster(prometheus: RunningPrometheus) -> None:
    """Enrichment's drop-rate query is scoped too; a `{cluster}` placeholder gets the name escaped."""
    client = PrometheusClient(prometheus.url)
    scoped = PrometheusEnricher(client, query_template=_short(DEFAULT_QUERY), cluster_label="cluster")
    placeholder = PrometheusEnricher(
        client,
        query_template=_short(
            'sum by (instance) (netguard:ena_allowance_exceeded:rate2m{type="{counter}",cluster="{cluster}"})'
        ),
    )
    for enricher in (scoped, placeholder):

        def settled(enricher: PrometheusEnricher = enricher) -> bool:
            rates = enricher.drop_rates([(OTHER, LINKLOCAL)]).rates
            return rates.get((NODES[0].internal_ip, LINKLOCAL)) == 0.0 and _near(
                rates.get((NODES[1].internal_ip, LINKLOCAL)), 30.0
            )

        wait_until(settled, what="the other cluster's rates only", timeout=60)
