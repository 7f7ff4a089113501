"""The fake ENA exporter, the DNS load model and the local Alertmanager configuration."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netguard_cli.localstack.alerting import local_alertmanager_config
from netguard_cli.localstack.alertmanager import amp_definition_files
from netguard_cli.localstack.dnsload import linklocal_drops
from netguard_cli.localstack.exporter import OTHER_STAT, Dialect, EthtoolExporter, SimulatedNode
from netguard_cli.main import build_parser

AMP = Path(__file__).resolve().parents[3] / "amp"
NODES = (
    SimulatedNode("ip-10-0-1-23.ec2.internal", "10.0.1.23"),
    SimulatedNode("ip-10-0-2-23.ec2.internal", "10.0.2.23"),
)


@pytest.fixture(params=list(Dialect))
def exporter(request: pytest.FixtureRequest) -> Iterator[EthtoolExporter]:
    running = EthtoolExporter(NODES, dialect=request.param).start()
    yield running
    running.stop()


def parse(text: str, dialect: Dialect) -> dict[str, int]:
    """stat -> value from one node's exposition, in either dialect (every sample on ens5)."""
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        series, value = line.rsplit(" ", 1)
        name, _, labels = series.partition("{")
        assert 'device="ens5"' in labels
        if dialect is Dialect.ETHTOOL_EXPORTER:
            assert name == "node_net_ethtool"
            values[labels.split('type="')[1].split('"')[0]] = int(value)
        else:
            assert name.startswith("node_ethtool_")
            assert "type=" not in labels
            values[name.removeprefix("node_ethtool_")] = int(value)
    return values


def _scrape(exporter: EthtoolExporter, node: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{exporter.url}/metrics/{node}", timeout=5) as response:
        return parse(response.read().decode(), exporter.dialect)


def _proxied(exporter: EthtoolExporter, address: str) -> str:
    """A scrape of `http://ADDRESS/metrics` through the exporter as HTTP proxy (what Prometheus does)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": exporter.url}))
    with opener.open(f"http://{address}/metrics", timeout=5) as response:
        return str(response.read().decode())


class TestExporter:
    def test_serves_every_counter_per_node(self, exporter: EthtoolExporter) -> None:
        """Each node target exposes the five allowance counters, the conntrack gauge and another stat."""
        values = _scrape(exporter, NODES[0].name)
        assert set(values) == {
            "bw_in_allowance_exceeded",
            "bw_out_allowance_exceeded",
            "pps_allowance_exceeded",
            "conntrack_allowance_exceeded",
            "linklocal_allowance_exceeded",
            "conntrack_allowance_available",
            OTHER_STAT,
        }

    def test_drops_grow_then_stop(self, exporter: EthtoolExporter) -> None:
        """A rate makes the counter grow on that node only; stopping freezes it (counters never fall)."""
        node, other = NODES[0].name, NODES[1].name
        before, other_before = _scrape(exporter, node), _scrape(exporter, other)
        exporter.start_drops([node], per_second=1000)
        time.sleep(0.3)
        grown = _scrape(exporter, node)["linklocal_allowance_exceeded"]
        assert grown - before["linklocal_allowance_exceeded"] >= 200
        assert _scrape(exporter, other) == other_before
        exporter.stop_drops()
        frozen = _scrape(exporter, node)["linklocal_allowance_exceeded"]
        time.sleep(0.2)
        assert _scrape(exporter, node)["linklocal_allowance_exceeded"] == frozen
        assert frozen >= grown

    def test_unknown_node_is_404(self, exporter: EthtoolExporter) -> None:
        """Only simulated nodes have a target."""
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{exporter.url}/metrics/nope", timeout=5)
        assert error.value.code == 404

    def test_instance_label(self) -> None:
        """The simulated instance label is the node IP with the exporter's port, as on host networking."""
        assert NODES[0].instance(Dialect.ETHTOOL_EXPORTER) == "10.0.1.23:9417"
        assert NODES[0].instance(Dialect.NODE_EXPORTER) == "10.0.1.23:9100"
        assert NODES[0].instance() == "10.0.1.23:9100"  # node_exporter is the default

    def test_answers_as_proxy_for_each_node_address(self, exporter: EthtoolExporter) -> None:
        """A proxied scrape of a node's own address gets that node's counters; another port or an
        unknown address is a 404."""
        exporter.start_drops([NODES[1].name], per_second=1000)
        time.sleep(0.2)
        first = parse(_proxied(exporter, exporter.instance(NODES[0].name)), exporter.dialect)
        second = parse(_proxied(exporter, exporter.instance(NODES[1].name)), exporter.dialect)
        assert second["linklocal_allowance_exceeded"] > first["linklocal_allowance_exceeded"] + 100
        other_port = 9417 if exporter.dialect is Dialect.NODE_EXPORTER else 9100
        for address in (f"{NODES[0].internal_ip}:{other_port}", "10.9.9.9:9100"):
            with pytest.raises(urllib.error.HTTPError) as error:
                _proxied(exporter, address)
            assert error.value.code == 404

    def test_coredns_pods_get_stable_addresses(self, exporter: EthtoolExporter) -> None:
        """Each CoreDNS pod is a target of its own (`IP:9153`, kept while it lives) serving its own
        counter without a pod label (the scrape adds it); a change of pods is announced."""
        changes: list[int] = []
        exporter.on_pods_changed = lambda: changes.append(1)
        exporter.set_forwarding({"coredns-a": 100.0, "coredns-b": 50.0})
        pods = exporter.coredns_pods()
        assert set(pods) == {"coredns-a", "coredns-b"}
        assert all(a.endswith(":9153") for a in pods.values())
        assert len(set(pods.values())) == 2
        exporter.set_forwarding({"coredns-a": 10.0, "coredns-b": 5.0})  # same pods: no change
        assert changes == [1]
        exporter.set_forwarding({"coredns-a": 10.0})
        assert changes == [1, 1]
        assert exporter.coredns_pods() == {"coredns-a": pods["coredns-a"]}
        body = _proxied(exporter, pods["coredns-a"])
        assert "coredns_forward_requests_total{to=" in body
        assert "pod=" not in body


class TestDnsLoad:
    @pytest.mark.parametrize(
        ("pods", "expected"),
        [
            (["a", "b"], {"a": 476.0, "b": 476.0}),  # EKS default: 2 replicas, 1500 pps each
            (["a", "a"], {"a": 1976.0}),  # both on one node: one interface carries everything
            (["a", "b", "c", "d"], {}),  # 750 pps each: under the limit
            (["a", "a", "b", "c"], {"a": 476.0}),  # spread badly: the shared node still drops
            ([], {}),
        ],
    )
    def test_drops_per_node(self, pods: list[str], expected: dict[str, float]) -> None:
        """3000 pps over CoreDNS pods: a node drops what its pods send above 1024 pps."""
        assert linklocal_drops(pods, 3000.0, 1024.0) == expected


class TestAlertmanagerConfig:
    def _shipped(self) -> dict[str, Any]:
        config, _ = amp_definition_files((AMP / "alertmanager.yaml").read_text())
        return local_alertmanager_config(
            config,
            sns_url="http://127.0.0.1:5000",
            topic_arn="arn:aws:sns:us-east-1:1:A",
            scale=1 / 30,
            use_netguard_template=True,
        )

    def test_sns_points_at_moto(self) -> None:
        """Every SNS config gets moto's URL, the local topic and static SigV4 credentials."""
        config = self._shipped()
        sns_configs = [s for r in config["receivers"] for s in r.get("sns_configs") or []]
        assert sns_configs
        for sns in sns_configs:
            assert sns["api_url"] == "http://127.0.0.1:5000"
            assert sns["topic_arn"] == "arn:aws:sns:us-east-1:1:A"
            assert sns["sigv4"]["access_key"] == "testing"
            assert sns["subject"] == '{{ template "netguard.subject" . }}'
            assert "netguard.json" in sns["message"]

    def test_route_timings_scaled_with_floors(self) -> None:
        """30s/5m/4h become 1s/10s/480s; child routes scale only what they set."""
        route = self._shipped()["route"]
        assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
            "1s",
            "10s",
            "480s",
        )
        for child in route.get("routes") or []:
            assert "group_wait" not in child
            assert child["group_interval"] == "4s"

    def test_without_template_short_subject(self) -> None:
        """Without netguard's template the subject is kept short (SNS rejects > 100 characters)."""
        config = local_alertmanager_config(
            {}, sns_url="http://x", topic_arn="arn:t", scale=1.0, use_netguard_template=False
        )
        sns = config["receivers"][0]["sns_configs"][0]
        assert "CommonLabels.alertname" in sns["subject"]
        assert "message" not in sns
        assert config["route"]["group_interval"] == "300s"


class TestExporterOption:
    @pytest.mark.parametrize(
        ("argv", "dialect"),
        [([], "node-exporter"), (["--exporter", "ethtool-exporter"], "ethtool-exporter")],
    )
    def test_local_up_takes_the_dialect(self, argv: list[str], dialect: str) -> None:
        """`netguard local up` defaults to node_exporter's names and takes the Showmax exporter's."""
        args = build_parser().parse_args(["local", "up", *argv])
        assert args.exporter == dialect
        assert Dialect(args.exporter).value == dialect

    def test_unknown_dialect_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["local", "up", "--exporter", "cloudwatch"])
        assert "invalid choice" in capsys.readouterr().err
