"""A small Kubernetes REST client: the handful of verbs netguard needs, over urllib3.

The official client costs seconds of cold start for thousands of generated models we never use.
This one speaks JSON to the API server and maps HTTP failures to typed errors:
`KubeNotFound`, `KubeForbidden`, `KubeConflict`, else `KubeApiError` (retryable for 429 and 5xx).

Built either from a kubeconfig file (tests, the local stack) or from an EKS endpoint, CA and a
bearer-token provider (Lambda in AWS; see `netguard.clients.eks`).
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import urllib3
import yaml

from netguard.errors import NetguardError, RetryableError

JsonObject = dict[str, Any]
JsonList = list[JsonObject]  # named, because KubeClient.list shadows the builtin in its class
PatchType = Literal["merge", "strategic", "json"]
FIELD_MANAGER = "netguard"
"""The field manager netguard writes with, so its server-side-applied fields are its own."""

_PATCH_CONTENT_TYPES: Mapping[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
}


class KubeApiError(NetguardError):
    def __init__(self, status: int, reason: str, message: str, *, verb: str, path: str) -> None:
        super().__init__(f"{verb} {path}: HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.api_message = message
        self.verb = verb
        self.path = path


class KubeNotFound(KubeApiError):
    pass


class KubeForbidden(KubeApiError):
    pass


class KubeConflict(KubeApiError):
    pass


class KubeUnavailable(KubeApiError, RetryableError):
    """429, 5xx or no connection: the API server may answer later."""


@dataclass(frozen=True)
class KubeConnection:
    server: str
    ca_file: str | None = None
    insecure: bool = False
    client_cert_file: str | None = None
    client_key_file: str | None = None


TokenProvider = Callable[[], str]


class KubeClient:
    """JSON over HTTPS to one API server. Paths are API paths, e.g. `/api/v1/nodes`."""

    def __init__(
        self,
        connection: KubeConnection,
        token: TokenProvider | None = None,
        *,
        timeout: float = 10.0,
        user_agent: str = "netguard",
    ) -> None:
        self._server = connection.server.rstrip("/")
        self._token = token
        self._user_agent = user_agent
        self.calls: dict[str, int] = {}
        """Requests made, by `VERB resource-path`; enrichment reports and tests count them."""
        ssl_context = ssl.create_default_context(cafile=connection.ca_file)
        if connection.insecure:
            ssl_context.check_hostname = False
            ssl_context.verify_mode = ssl.CERT_NONE
        if connection.client_cert_file:
            ssl_context.load_cert_chain(connection.client_cert_file, connection.client_key_file)
        self._pool = urllib3.PoolManager(
            ssl_context=ssl_context,
            timeout=urllib3.Timeout(connect=3.0, read=timeout),
            retries=False,
        )

    # --- verbs -----------------------------------------------------------------------------------

    def get(self, path: str) -> JsonObject:
        return self._request("GET", path)

    def list(
        self,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
    ) -> JsonList:
        """Every item of a collection, following `continue` tokens."""
        return list(
            self.iter_list(
                path, label_selector=label_selector, field_selector=field_selector, page_size=page_size
            )
        )

    def iter_list(
        self,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
    ) -> Iterator[JsonObject]:
        token: str | None = None
        while True:
            query: dict[str, str] = {"limit": str(page_size)}
            if label_selector:
                query["labelSelector"] = label_selector
            if field_selector:
                query["fieldSelector"] = field_selector
            if token:
                query["continue"] = token
            page = self._request("GET", path, query=query)
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return

    def create(self, path: str, body: JsonObject, *, field_manager: str = FIELD_MANAGER) -> JsonObject:
        return self._request("POST", path, body=body, query={"fieldManager": field_manager})

    def patch(
        self,
        path: str,
        body: JsonObject | JsonList,
        *,
        patch_type: PatchType = "merge",
        field_manager: str = FIELD_MANAGER,
        dry_run: bool = False,
    ) -> JsonObject:
        query = {"fieldManager": field_manager}
        if dry_run:
            query["dryRun"] = "All"
        return self._request(
            "PATCH", path, body=body, query=query, content_type=_PATCH_CONTENT_TYPES[patch_type]
        )

    def apply(
        self,
        path: str,
        body: JsonObject,
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> JsonObject:
        """Server-side apply of one object at its own path (`.../namespaces/NS/KIND/NAME`)."""
        query = {"fieldManager": field_manager, "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        return self._request(
            "PATCH", path, body=body, query=query, content_type="application/apply-patch+yaml"
        )

    def delete(self, path: str, *, propagation: str = "Background", dry_run: bool = False) -> JsonObject:
        body: JsonObject = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if dry_run:
            body["dryRun"] = ["All"]
        return self._request("DELETE", path, body=body)

    # --- transport -------------------------------------------------------------------------------

    def _request(
        self,
        verb: str,
        path: str,
        *,
        body: object | None = None,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> JsonObject:
        key = f"{verb} {_resource_of(path)}"
        self.calls[key] = self.calls.get(key, 0) + 1
        url = self._server + quote(path, safe="/:@")
        if query:
            url += "?" + urlencode(query)
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token()}"
        payload = None
        if body is not None:
            headers["Content-Type"] = content_type
            payload = json.dumps(body).encode()
        try:
            response = self._pool.request(verb, url, body=payload, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            # The URL carries no secret; the token is only in a header.
            raise KubeUnavailable(0, "ConnectionError", str(exc), verb=verb, path=path) from exc
        data = response.data
        if 200 <= response.status < 300:
            return json.loads(data) if data else {}
        raise _error_for(response.status, data, verb=verb, path=path)


def _resource_of(path: str) -> str:
    """`/apis/apps/v1/namespaces/ns/deployments/x/scale` -> `deployments/scale`: a bounded key."""
    parts = path.strip("/").split("/")
    parts = parts[2:] if parts[0] == "api" else parts[3:] if parts[0] == "apis" else parts
    if len(parts) >= 3 and parts[0] == "namespaces":
        parts = parts[2:]
    if not parts:
        return path
    return parts[0] + (f"/{parts[2]}" if len(parts) > 2 else "")


def _error_for(status: int, data: bytes, *, verb: str, path: str) -> KubeApiError:
    reason, message = "", data[:300].decode("utf-8", "replace")
    try:
        status_obj = json.loads(data)
        reason = str(status_obj.get("reason", ""))
        message = str(status_obj.get("message", message))
    except (ValueError, AttributeError):
        pass
    error_type: type[KubeApiError]
    if status == 404:
        error_type = KubeNotFound
    elif status in (401, 403):
        error_type = KubeForbidden
    elif status == 409:
        error_type = KubeConflict
    elif status == 429 or status >= 500:
        error_type = KubeUnavailable
    else:
        error_type = KubeApiError
    return error_type(status, reason or str(status), message, verb=verb, path=path)


def client_from_kubeconfig(path: str | Path, *, context: str | None = None) -> KubeClient:
    """A client for a kubeconfig's current (or named) context; token or client-certificate users."""
    config = yaml.safe_load(Path(path).read_text())
    context_name = context or config.get("current-context")
    contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
    if context_name not in contexts:
        raise NetguardError(f"kubeconfig {path}: context {context_name!r} not found")
    ctx = contexts[context_name]
    cluster = {c["name"]: c["cluster"] for c in config.get("clusters") or []}[ctx["cluster"]]
    user = {u["name"]: u["user"] for u in config.get("users") or []}.get(ctx.get("user"), {})
    base_dir = Path(path).parent

    def file_or_data(file_key: str, data_key: str, source: Mapping[str, Any]) -> str | None:
        if source.get(file_key):
            return str(base_dir / source[file_key])
        if source.get(data_key):
            handle = tempfile.NamedTemporaryFile(delete=False, suffix=".pem")  # noqa: SIM115
            handle.write(base64.b64decode(source[data_key]))
            handle.close()
            return handle.name
        return None

    connection = KubeConnection(
        server=cluster["server"],
        ca_file=file_or_data("certificate-authority", "certificate-authority-data", cluster),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        client_cert_file=file_or_data("client-certificate", "client-certificate-data", user),
        client_key_file=file_or_data("client-key", "client-key-data", user),
    )
    token_value = user.get("token")
    return KubeClient(connection, (lambda: token_value) if token_value else None)
