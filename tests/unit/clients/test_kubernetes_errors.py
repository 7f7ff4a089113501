"""The Kubernetes client maps API answers to typed errors and counts its calls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from netguard.clients.kubernetes import (
    KubeApiError,
    KubeClient,
    KubeConflict,
    KubeConnection,
    KubeForbidden,
    KubeNotFound,
    KubeUnavailable,
)
from netguard.errors import RetryableError


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = int(self.path.split("/")[-1].split("?")[0]) if self.path.startswith("/status/") else 200
        if self.path.startswith("/api/v1/nodes"):
            page = 2 if "continue=p2" in self.path else 1
            body = {"items": [{"n": page}], "metadata": {"continue": "p2" if page == 1 else ""}}
            self._send(200, body)
            return
        self._send(status, {"kind": "Status", "reason": "Because", "message": f"said {status}"})

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[KubeClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield KubeClient(KubeConnection(server=f"http://127.0.0.1:{server.server_port}"), lambda: "tok")
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, KubeNotFound),
        (403, KubeForbidden),
        (401, KubeForbidden),
        (409, KubeConflict),
        (429, KubeUnavailable),
        (503, KubeUnavailable),
        (422, KubeApiError),
    ],
)
def test_status_codes_become_typed_errors(api: KubeClient, status: int, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        api.get(f"/status/{status}")
    assert type(caught.value) is error
    assert f"said {status}" in str(caught.value)
    assert isinstance(caught.value, RetryableError) == (status in (429, 503))


def test_list_follows_continue_tokens_and_counts_calls(api: KubeClient) -> None:
    assert api.list("/api/v1/nodes") == [{"n": 1}, {"n": 2}]
    assert api.calls["GET nodes"] == 2


def test_connection_refused_is_retryable() -> None:
    from netguard_cli.localstack.processes import free_port

    client = KubeClient(KubeConnection(server=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(KubeUnavailable):
        client.get("/api/v1/nodes")
