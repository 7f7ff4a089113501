"""Drop rates from a real Prometheus (Debian's 2.42) scraping the simulated exporter in either dialect
through amp/scrape.yaml's relabelling and evaluating amp/rules.yaml (scaled as the local stack does),
with the default DROP_RATE_QUERY, through the enrichment pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netguard.clients.prometheus import PrometheusClient
from netguard.enrich.ec2 import Ec2Enricher
from netguard.enrich.kubernetes import KubernetesEnricher
from netguard.enrich.pipeline import Pipeline
from netguard.enrich.prometheus import DEFAULT_QUERY, PrometheusEnricher
from netguard.remediate.metrics import FORWARDS_QUERY, forward_rates
from netguard_cli.localstack.exporter import (
    ALLOWANCE_COUNTERS,
    CONNTRACK_AVAILABLE,
    Dialect,
    EthtoolExporter,
    SimulatedNode,
)
from netguard_cli.localstack.processes import wait_until
from netguard_cli.localstack.prometheus import RunningPrometheus
from tests.support.alertbuild import alert, group
from tests.support.fakekube import node, standard_cluster
from tests.support.prometheus import amp_prometheus

pytestmark = pytest.mark.integration

NODES = (
    SimulatedNode("ip-10-0-1-23.ec2.internal", "10.0.1.23"),
    SimulatedNode("ip-10-0-2-7.ec2.internal", "10.0.2.7"),
)


class NoInstances:
    def describe_instances(self, **_: Any) -> dict[str, Any]:
        return {"Reservations": []}

    def describe_instance_types(self, **_: Any) -> dict[str, Any]:
        return {"InstanceTypes": []}


@pytest.fixture(scope="module", params=list(Dialect))
def prometheus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningPrometheus, EthtoolExporter]]:
    exporter = EthtoolExporter(NODES, dialect=request.param).start()
    try:
        exporter.set_rate(NODES[0].name, "linklocal_allowance_exceeded", 40.0)
        with amp_prometheus({"prod": exporter}, Path(tmp_path_factory.mktemp("prometheus"))) as running:
            yield running, exporter
    finally:
        exporter.stop()


def test_drop_rate_and_graph_link_per_alert(prometheus: tuple[RunningPrometheus, EthtoolExporter]) -> None:
    running, exporter = prometheus
    enricher = PrometheusEnricher(PrometheusClient(running.url), query_template=DEFAULT_QUERY)
    query = enricher.query_for("linklocal_allowance_exceeded", "prod")
    wait_until(
        lambda: max(float(r["value"][1]) for r in running.query(query)) > 30,
        what="the configured drop rate visible in Prometheus",
        timeout=60,
    )
    kube = standard_cluster(coredns_nodes=(NODES[0].name,))
    kube.add(
        "/api/v1/nodes",
        *(node(n.name, n.internal_ip, instance_id=f"i-0{i:016x}") for i, n in enumerate(NODES)),
    )
    pipeline = Pipeline(
        ec2_for_region=lambda region: Ec2Enricher(NoInstances()),
        kube_for_cluster=lambda name: KubernetesEnricher(kube),
        cluster_regions={"prod": "us-east-1"},
        default_region="us-east-1",
        default_cluster="prod",
        prometheus=enricher,
    )
    dropping = alert({"instance": exporter.instance(NODES[0].name)})
    quiet = alert({"node": NODES[1].name})
    result = pipeline.enrich(group(dropping, quiet))
    assert result.calls["prometheus query"] == 1
    first, second = result.alerts
    assert first.drop_rate_per_second is not None
    assert 30.0 <= first.drop_rate_per_second <= 50.0
    assert second.drop_rate_per_second == 0.0
    assert first.graph_url.startswith(f"{running.url}/graph?g0.expr=")
    assert first.diagnosis is not None
    assert any("Current rate on this node" in line for line in first.diagnosis.details)
    assert [e.source for e in result.errors] == ["ec2", "ec2"]


def test_default_query_is_valid_promql(prometheus: tuple[RunningPrometheus, EthtoolExporter]) -> None:
    """The shipped DROP_RATE_QUERY runs and returns one series per node, keyed by its address."""
    running, _ = prometheus
    wait_until(
        lambda: len(running.query("netguard:ena_allowance_exceeded:rate2m")) >= 5 * len(NODES),
        what="the normalized series recorded",
        timeout=60,
    )
    rates = PrometheusEnricher(PrometheusClient(running.url)).drop_rates(
        [("prod", "linklocal_allowance_exceeded")]
    )
    assert {key for key, _ in rates.rates} == {n.internal_ip for n in NODES}


def test_relabelling_yields_what_the_rules_read(
    prometheus: tuple[RunningPrometheus, EthtoolExporter],
) -> None:
    """amp/scrape.yaml's relabelling on pod-discovery labels gives every raw series `node`,
    `cluster` and the exporter's `IP:port`; the normalized series has `type`, `device` and the
    address without the port, in either dialect."""
    running, exporter = prometheus
    raw = (
        'node_ethtool_linklocal_allowance_exceeded{job="ena-exporters"}'
        if exporter.dialect is Dialect.NODE_EXPORTER
        else 'node_net_ethtool{job="ena-exporters",type="linklocal_allowance_exceeded"}'
    )
    wait_until(lambda: len(running.query(raw)) == len(NODES), what="both nodes scraped", timeout=60)
    labels = {r["metric"]["node"]: r["metric"] for r in running.query(raw)}
    for simulated in NODES:
        assert labels[simulated.name]["cluster"] == "prod"
        assert labels[simulated.name]["instance"] == simulated.instance(exporter.dialect)
        assert labels[simulated.name]["namespace"] == "netguard-collection"
    # Only the allowance statistics are kept (metric_relabel_configs): not the exporter's other stats.
    kept = running.query('{job="ena-exporters", __name__!="up", __name__!~"scrape_.*"}')
    stats = {r["metric"].get("type") or r["metric"]["__name__"].removeprefix("node_ethtool_") for r in kept}
    assert stats == {*ALLOWANCE_COUNTERS, CONNTRACK_AVAILABLE}
    query = 'netguard:ena_allowance_exceeded:rate2m{type="linklocal_allowance_exceeded"} > 30'
    wait_until(lambda: len(running.query(query)) == 1, what="the normalized rate", timeout=60)
    (series,) = running.query(query)
    assert series["metric"] == {
        "__name__": "netguard:ena_allowance_exceeded:rate2m",
        "cluster": "prod",
        "node": NODES[0].name,
        "instance": NODES[0].internal_ip,
        "device": "ens5",
        "type": "linklocal_allowance_exceeded",
    }


def test_coredns_forward_rates_per_pod(prometheus: tuple[RunningPrometheus, EthtoolExporter]) -> None:
    """Remediation's forward-rate query finds each CoreDNS pod's upstream queries/s in a real
    Prometheus; a pod that goes away drops out of the answer."""
    running, exporter = prometheus
    exporter.set_forwarding({"coredns-a": 1500.0, "coredns-b": 700.0})
    # A 10 s window instead of the shipped 2 m: the same query, full rate after a few scrapes. Each
    # pod is a target of its own, labelled by the relabelling from its discovery labels.
    forwards = forward_rates(
        PrometheusClient(running.url).query, promql=FORWARDS_QUERY.replace("[2m]", "[10s]")
    )

    def close_to(expected: dict[str, float]) -> bool:
        rates = forwards("prod") or {}
        return set(rates) == set(expected) and all(abs(rates[p] - v) < 0.1 * v for p, v in expected.items())

    wait_until(
        lambda: close_to({"coredns-a": 1500.0, "coredns-b": 700.0}), what="both pods' rates", timeout=60
    )
    exporter.set_forwarding({"coredns-a": 1500.0})
    # Prometheus marks a vanished series stale at the next scrape.
    wait_until(lambda: close_to({"coredns-a": 1500.0}), what="coredns-b gone", timeout=60)
