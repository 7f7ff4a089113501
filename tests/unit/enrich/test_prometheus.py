"""The shared PrometheusClient and the PrometheusEnricher against a local HTTP server (plain and SigV4)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from botocore.credentials import Credentials

from netguard.clients.errors import PrometheusError, PrometheusRejected, PrometheusUnavailable
from netguard.clients.prometheus import PrometheusClient
from netguard.enrich.models import AlertTarget
from netguard.enrich.prometheus import PrometheusEnricher, rate_for, render
from netguard_cli.localstack.processes import free_port


class Server:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.result: list[dict[str, Any]] = []
        self.payload: dict[str, Any] | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                outer.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "form": parse_qs(body)}
                )
                payload = outer.payload or {
                    "status": "success",
                    "data": {"resultType": "vector", "result": outer.result},
                }
                data = json.dumps(payload).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.httpd.shutdown()


def series(instance: str, value: float) -> dict[str, Any]:
    return {"metric": {"instance": instance}, "value": [1700000000, str(value)]}


class TestClient:
    def test_plain_query(self, server: Server) -> None:
        server.result = [series("10.0.0.1:9100", 3.5)]
        result = PrometheusClient(server.url).query("up")
        assert result == [({"instance": "10.0.0.1:9100"}, 3.5)]
        (request,) = server.requests
        assert request["path"] == "/api/v1/query"
        assert request["form"] == {"query": ["up"]}
        assert "Authorization" not in request["headers"]

    def test_sigv4_signed_for_aps(self, server: Server) -> None:
        creds = Credentials("AKIDEXAMPLE", "secret-value", "session-token")
        PrometheusClient(
            server.url + "/workspaces/ws-1", sigv4_region="us-west-2", credentials=lambda: creds
        ).query("up")
        headers = server.requests[0]["headers"]
        assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/us-west-2/aps/aws4_request" in headers["Authorization"]
        assert headers["X-Amz-Security-Token"] == "session-token"
        assert server.requests[0]["path"] == "/workspaces/ws-1/api/v1/query"

    def test_signing_without_credentials_fails_clearly(self, server: Server) -> None:
        with pytest.raises(PrometheusError, match="no AWS credentials"):
            PrometheusClient(server.url, sigv4_region="us-east-1", credentials=lambda: None).query("up")

    @pytest.mark.parametrize(
        ("status", "payload", "message"),
        [
            (503, None, "HTTP 503"),
            (
                200,
                {"status": "error", "errorType": "bad_data", "error": "parse error"},
                "bad_data parse error",
            ),
            (200, {"status": "success", "data": {"resultType": "matrix", "result": []}}, "instant vector"),
            (200, {"status": "success"}, "unexpected answer"),
        ],
    )
    def test_failures(
        self, server: Server, status: int, payload: dict[str, Any] | None, message: str
    ) -> None:
        server.status, server.payload = status, payload
        with pytest.raises(PrometheusError, match=message):
            PrometheusClient(server.url).query("up")

    def test_unreachable(self) -> None:
        with pytest.raises(PrometheusUnavailable, match="query failed"):
            PrometheusClient(f"http://127.0.0.1:{free_port()}").query("up")

    @pytest.mark.parametrize(
        ("status", "kind"),
        [(503, PrometheusUnavailable), (429, PrometheusUnavailable), (400, PrometheusRejected)],
    )
    def test_kind_of_http_failure(self, server: Server, status: int, kind: type[PrometheusError]) -> None:
        """Throttling and 5xx are retryable; a refused query is not (the type says which)."""
        server.status, server.payload = status, {"status": "error", "error": "x"}
        with pytest.raises(kind):
            PrometheusClient(server.url).query("up")

    def test_failure_is_recorded_as_a_prometheus_enrichment_error(self, server: Server) -> None:
        """The pipeline records a client failure under source "prometheus" with the client's message."""
        server.status = 503
        with pytest.raises(PrometheusError) as caught:
            PrometheusClient(server.url).query("up")
        assert caught.value.source == "prometheus"
        assert caught.value.detail.startswith("query answered HTTP 503")


class TestEnricher:
    def test_one_query_per_counter_and_rates_by_instance_or_ip(self, server: Server) -> None:
        server.result = [series("10.0.0.1:9100", 2.0), series("10.0.0.2:9100", 0.5)]
        enricher = PrometheusEnricher(PrometheusClient(server.url))
        rates = enricher.drop_rates([("prod", "linklocal_allowance_exceeded")] * 50)
        assert len(server.requests) == 1
        assert server.requests[0]["form"]["query"] == [
            'sum by (instance) (netguard:ena_allowance_exceeded:rate2m{type="linklocal_allowance_exceeded"})'
        ]
        by_label = AlertTarget("prod", ip="10.0.0.1", instance_label="10.0.0.1:9100")
        by_ip = AlertTarget("prod", ip="10.0.0.2", node_name="n2")
        assert rate_for(rates, by_label, "linklocal_allowance_exceeded") == 2.0
        assert rate_for(rates, by_ip, "linklocal_allowance_exceeded") == 0.5
        assert rate_for(rates, AlertTarget("prod", ip="10.9.9.9"), "linklocal_allowance_exceeded") is None

    def test_graph_url_for_local_prometheus(self, server: Server) -> None:
        enricher = PrometheusEnricher(PrometheusClient(server.url))
        url = enricher.graph_url(AlertTarget("prod", ip="10.0.0.1"), "pps_allowance_exceeded", alertname="X")
        assert url.startswith(server.url + "/graph?g0.expr=sum%20by%20%28instance%29")
        assert "pps_allowance_exceeded" in url

    def test_graph_url_template_and_none_for_amp(self) -> None:
        amp = PrometheusClient("https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1")
        assert PrometheusEnricher(amp).graph_url(AlertTarget("c"), "x", alertname="A") == ""
        templated = PrometheusEnricher(
            amp, graph_url_template="https://grafana/d/net?var-node={node}&c={cluster}"
        )
        url = templated.graph_url(AlertTarget("prod/eu", node_name="n 1"), "x", alertname="A")
        assert url == "https://grafana/d/net?var-node=n%201&c=prod%2Feu"


def test_render_leaves_promql_braces() -> None:
    assert render('rate(x{type="{counter}",cluster="{cluster}"}[5m])', {"counter": "c", "cluster": "k"}) == (
        'rate(x{type="c",cluster="k"}[5m])'
    )
