"""The official client as netguard builds it for EKS: CA in memory, a bearer token asked for before
every request, answers mapped to netguard's errors, calls counted. Against a local HTTPS server."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from netguard.clients.kubernetes import (
    Kube,
    KubeApiError,
    KubeConflict,
    KubeForbidden,
    KubeNotFound,
    KubeTooManyRequests,
    KubeUnavailable,
    kube_for_endpoint,
)
from netguard.errors import RetryableError
from netguard_cli.localstack.pki import Pki, ensure_pki
from netguard_cli.localstack.processes import free_port


@dataclass
class Seen:
    authorization: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    seen: Seen

    def do_GET(self) -> None:
        self.seen.authorization.append(self.headers.get("Authorization", ""))
        if self.path.startswith("/api/v1/nodes"):
            page = 2 if "continue=p2" in self.path else 1
            self._send(200, {"items": [{"n": page}], "metadata": {"continue": "p2" if page == 1 else ""}})
            return
        # /api/v1/namespaces/status/configmaps/<code>: answer with that status
        self._status(int(self.path.split("?")[0].rsplit("/", 1)[-1]))

    def do_POST(self) -> None:  # the Eviction API: a PodDisruptionBudget says not now
        self.seen.authorization.append(self.headers.get("Authorization", ""))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._status(429, retry_after="7")

    def _status(self, status: int, retry_after: str | None = None) -> None:
        body = {"kind": "Status", "reason": "Because", "message": f"said {status}"}
        self._send(status, body, {"Retry-After": retry_after} if retry_after else {})

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return ensure_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[tuple[str, Seen]]:
    seen = Seen()
    handler = type("Handler", (_Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{httpd.server_port}", seen
    finally:
        httpd.shutdown()


def _ca_data(pki: Pki) -> str:
    return base64.b64encode(Path(pki.ca_cert).read_bytes()).decode()


@pytest.fixture
def api(server: tuple[str, Seen], pki: Pki) -> Kube:
    return kube_for_endpoint(server[0], _ca_data(pki), lambda: "tok")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, KubeNotFound),
        (403, KubeForbidden),
        (401, KubeForbidden),
        (409, KubeConflict),
        (429, KubeTooManyRequests),
        (503, KubeUnavailable),
        (422, KubeApiError),
    ],
)
def test_status_codes_become_typed_errors(api: Kube, status: int, error: type[Exception]) -> None:
    """Each status becomes its netguard error, retryable for 429 and 5xx, naming the request."""
    with pytest.raises(error) as caught:
        api.call(api.core.read_namespaced_config_map, str(status), "status")
    assert type(caught.value) is error
    assert f"said {status}" in str(caught.value)
    assert f"GET /api/v1/namespaces/status/configmaps/{status}" in str(caught.value)
    assert isinstance(caught.value, RetryableError) == (status in (429, 503))


def test_an_eviction_refused_by_a_budget_is_too_many_requests(api: Kube) -> None:
    """A 429 from the Eviction API is distinguishable and carries Retry-After."""
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p", "namespace": "ns"}}
    with pytest.raises(KubeTooManyRequests) as caught:
        api.call(api.core.create_namespaced_pod_eviction, "p", "ns", eviction)
    assert caught.value.retry_after == 7.0
    assert api.calls["POST pods/eviction"] == 1


def test_list_follows_continue_tokens_and_counts_calls(api: Kube) -> None:
    """Two pages, two counted requests, one list of items."""
    assert api.list_all(api.core.list_node) == [{"n": 1}, {"n": 2}]
    assert api.calls["GET nodes"] == 2
    assert api.total_calls() == 2


def test_the_token_is_asked_for_before_every_request(server: tuple[str, Seen], pki: Pki) -> None:
    """A long-lived client sends whatever the provider returns now (it re-mints before expiry)."""
    url, seen = server
    tokens = iter(["first", "second"])
    api = kube_for_endpoint(url, _ca_data(pki), lambda: next(tokens))
    seen.authorization.clear()
    api.call(api.core.list_node, limit=1)
    api.call(api.core.list_node, limit=1)
    assert seen.authorization == ["Bearer first", "Bearer second"]


def test_the_ca_is_kept_in_memory_and_enforced(server: tuple[str, Seen], pki: Pki, tmp_path: Path) -> None:
    """No CA file is configured, and a server the given CA did not sign is refused."""
    api = kube_for_endpoint(server[0], _ca_data(pki), lambda: "tok")
    assert api.api_client.configuration.ssl_ca_cert is None
    other = ensure_pki(tmp_path / "other")
    stranger = kube_for_endpoint(server[0], _ca_data(other), lambda: "tok")
    with pytest.raises(KubeUnavailable):
        stranger.call(stranger.core.list_node)


def test_connection_refused_is_retryable(pki: Pki) -> None:
    """No server at all: KubeUnavailable, so Lambda retries."""
    api = kube_for_endpoint(f"https://127.0.0.1:{free_port()}", _ca_data(pki), lambda: "tok")
    with pytest.raises(KubeUnavailable) as caught:
        api.call(api.core.list_node)
    assert caught.value.status == 0
