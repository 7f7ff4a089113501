"""The fresh check's instant query against a local HTTP endpoint shaped like Prometheus's API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from netguard.clients.prometheus import PrometheusClient
from netguard.remediate.metrics import DROPS_QUERY, FORWARDS_QUERY, drop_rates, forward_rates


class _Handler(BaseHTTPRequestHandler):
    answer: ClassVar[tuple[int, dict[str, Any]]] = (200, {})
    queries: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
        type(self).queries.append(form["query"][0])
        status, body = type(self).answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.queries.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _vector(*series: tuple[dict[str, str], str]) -> tuple[int, dict[str, Any]]:
    """An instant-query answer as Prometheus gives it."""
    result = [{"metric": labels, "value": [1, value]} for labels, value in series]
    return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


def test_rates_per_node(prometheus: str) -> None:
    _Handler.answer = _vector(({"instance": "10.0.0.1:9100"}, "12.5"), ({"instance": "10.0.0.2:9100"}, "0"))
    fresh = drop_rates(PrometheusClient(prometheus).query)
    assert fresh("prod", {"a": "10.0.0.1:9100", "b": "10.0.0.2:9100", "c": "10.0.0.3:9100"}) == {
        "a": 12.5,
        "b": 0.0,
        "c": None,
    }
    assert _Handler.queries == [DROPS_QUERY]


def test_normalized_rates_match_alerts_from_either_exporter(prometheus: str) -> None:
    """The normalized series' `instance` is the node's address without a port: an alert from
    node_exporter (:9100), the Showmax exporter (:9417) or the normalized rule (no port) finds it."""
    _Handler.answer = _vector(
        ({"instance": "10.0.0.1"}, "12.5"), ({"instance": "10.0.0.2"}, "3"), ({"instance": "[fd00::7]"}, "4")
    )
    fresh = drop_rates(PrometheusClient(prometheus).query)
    alerts = {"a": "10.0.0.1:9100", "b": "10.0.0.2:9417", "c": "10.0.0.1", "d": "[fd00::7]:9100"}
    assert fresh("prod", {**alerts, "e": "10.0.0.3:9100"}) == {
        "a": 12.5,
        "b": 3.0,
        "c": 12.5,
        "d": 4.0,
        "e": None,
    }
    assert "netguard:ena_allowance_exceeded:rate2m" in _Handler.queries[0]


@pytest.mark.parametrize(
    "answer",
    [
        (503, {"status": "error"}),
        (200, {"status": "error", "error": "bad query"}),
        (200, "not an object"),
    ],
)
def test_failures_are_no_data(prometheus: str, answer: tuple[int, Any]) -> None:
    """An endpoint that fails gives "no data" for every node, never a rate of 0."""
    _Handler.answer = answer
    assert drop_rates(PrometheusClient(prometheus).query)("prod", {"a": "10.0.0.1:9100"}) == {"a": None}


def test_forward_rates_per_pod(prometheus: str) -> None:
    """CoreDNS's forwarded queries per pod (either metric spelling), for the packets-per-node estimate."""
    _Handler.answer = _vector(({"pod": "coredns-a"}, "1500"), ({"pod": "coredns-b"}, "1490.5"), ({}, "9"))
    assert forward_rates(PrometheusClient(prometheus).query)("prod") == {
        "coredns-a": 1500.0,
        "coredns-b": 1490.5,
    }
    assert _Handler.queries == [FORWARDS_QUERY]


def test_forward_rates_failure_is_no_data(prometheus: str) -> None:
    _Handler.answer = (503, {"status": "error"})
    assert forward_rates(PrometheusClient(prometheus).query)("prod") is None


def test_queries_carry_the_cluster_matcher(prometheus: str) -> None:
    """With a cluster label configured, both queries name the cluster, its value escaped."""
    _Handler.answer = _vector()
    client = PrometheusClient(prometheus)
    drop_rates(client.query, cluster_label="cluster")('pr"od', {"a": "10.0.0.1:9100"})
    forward_rates(client.query, cluster_label="k8s_cluster")("prod")
    drops, forwards = _Handler.queries
    assert drops.count('cluster="pr\\"od"') == 1  # the one recorded series DROPS_QUERY reads
    assert 'coredns_forward_requests_total{k8s_cluster="prod"}' in forwards
