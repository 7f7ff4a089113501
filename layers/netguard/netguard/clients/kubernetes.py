"""The official `kubernetes` client, counted and speaking netguard's errors; answers as plain dicts.

Who calls it: enrichment, DNS observation, the actuators, the local stack and the tests, always
through a `Kube` built here (`kube_from_kubeconfig`, `kube_for_endpoint`; for EKS see
`netguard.clients.eks.kube_client`). Typed APIs (`kube.core`, `kube.apps`, ...) build the requests;
`kube.call` / `kube.list_all` / `kube.merge` run them with `_preload_content=False` and decode the
JSON ourselves, so the pure cores keep working on camelCase dicts (the API's own shape) and we skip the costly
deserialisation into generated models. Every request is counted by `VERB resource` in `kube.calls`
and every failure becomes a `KubeApiError` subclass (`netguard.clients.errors`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import ssl
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import kubernetes.client as k8s
import kubernetes.config
import urllib3
from kubernetes.client.exceptions import ApiException

from netguard.clients.errors import (
    KubeApiError,
    KubeConflict,
    KubeForbidden,
    KubeNotFound,
    KubeTooManyRequests,
    KubeUnavailable,
    kube_error_for,
)

__all__ = [
    "FIELD_MANAGER",
    "JsonList",
    "JsonObject",
    "Kube",
    "KubeApiError",
    "KubeConflict",
    "KubeForbidden",
    "KubeNotFound",
    "KubeTooManyRequests",
    "KubeUnavailable",
    "TokenProvider",
    "kube_for_endpoint",
    "kube_from_kubeconfig",
]

JsonObject = dict[str, Any]
JsonList = list[JsonObject]
TokenProvider = Callable[[], str]
FIELD_MANAGER = "netguard"
"""The field manager netguard writes with, so its server-side-applied fields are its own."""
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"

_TIMEOUT = (3.0, 10.0)
"""(connect, read) seconds for a request that does not pass its own `_request_timeout`."""


class CountingApiClient(k8s.ApiClient):
    """The official ApiClient with a request counter, a default timeout and netguard's errors.

    `call_api` is the one method every generated typed method sends its request through (kubernetes
    >= 37, the pydantic-based generator): the right place to count by resource (a bounded key) and
    to turn a non-2xx answer or a failed connection into a `KubeApiError` once, before the library
    would raise its own `ApiException`.
    """

    def __init__(self, configuration: k8s.Configuration) -> None:
        super().__init__(configuration)
        self.user_agent = "netguard"  # names netguard in the API server's audit log
        self.calls: Counter[str] = Counter()
        """Requests made, by `VERB resource` (e.g. `GET pods`, `PATCH deployments/scale`)."""

    def call_api(
        self,
        method: str,
        url: str,
        header_params: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        path = unquote(urlsplit(url).path).removeprefix(urlsplit(self.configuration.host).path.rstrip("/"))
        self.calls[f"{method} {_resource_of(path)}"] += 1
        try:
            response = super().call_api(
                method, url, header_params, body, post_params, _request_timeout or _TIMEOUT
            )
        except ApiException as exc:  # status 0: TLS failure or a request the client could not build
            raise _error_from(
                exc.status or 0, exc.reason, exc.body, exc.headers, verb=method, path=path
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            # The URL carries no secret (the token is only in a header), so the message may be kept.
            raise KubeUnavailable(0, "ConnectionError", str(exc), verb=method, path=path) from exc
        if not 200 <= response.status <= 299:
            data = response.read()  # type: ignore[no-untyped-call]  # untyped in the library
            raise _error_from(
                response.status, response.reason, data, response.headers, verb=method, path=path
            )
        return response


class Kube:
    """One API server: typed APIs to build requests, `call`/`list_all` to run them as JSON."""

    def __init__(self, api_client: CountingApiClient) -> None:
        self.api_client = api_client
        self.core = k8s.CoreV1Api(api_client)
        self.apps = k8s.AppsV1Api(api_client)
        self.autoscaling = k8s.AutoscalingV2Api(api_client)
        self.autoscaling_v1 = k8s.AutoscalingV1Api(api_client)
        self.policy = k8s.PolicyV1Api(api_client)
        self.rbac = k8s.RbacAuthorizationV1Api(api_client)
        self.version = k8s.VersionApi(api_client)

    @property
    def calls(self) -> Counter[str]:
        """Requests made through this client, by `VERB resource`; tests and reports count them."""
        counter: Counter[str] = self.api_client.calls
        return counter

    def total_calls(self) -> int:
        return sum(self.calls.values())

    # --- running typed methods -------------------------------------------------------------------

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> JsonObject:
        """Run a typed API method (e.g. `kube.core.read_namespaced_service`) and return its JSON."""
        response = method(*args, _preload_content=False, **kwargs)
        try:
            data = response.data
        finally:
            response.release_conn()
        return json.loads(data) if data else {}

    def list_all(
        self, method: Callable[..., Any], *args: Any, page_size: int = 500, **kwargs: Any
    ) -> JsonList:
        """Every item of a typed `list_*` method, following `continue` tokens."""
        return list(self.iter_list(method, *args, page_size=page_size, **kwargs))

    def iter_list(
        self, method: Callable[..., Any], *args: Any, page_size: int = 500, **kwargs: Any
    ) -> Iterator[JsonObject]:
        token: str | None = None
        while True:
            extra = {"_continue": token} if token else {}
            page = self.call(method, *args, limit=page_size, **kwargs, **extra)
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return

    # --- manifests of any kind -------------------------------------------------------------------

    def read(self, manifest: Mapping[str, Any], *, subresource: str = "") -> JsonObject:
        """The stored object a manifest names (apiVersion, kind, metadata.name/namespace)."""
        method, args = self.method_for("read", manifest, subresource)
        return self.call(method, *args)

    def apply(
        self,
        manifest: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> JsonObject:
        """Server-side apply of one manifest (or of its `status` with `subresource="status"`)."""
        method, args = self.method_for("patch", manifest, subresource)
        return self.call(
            method,
            *args,
            dict(manifest),
            field_manager=field_manager,
            force=force,
            _content_type=APPLY_PATCH,
            **_dry_run(dry_run),
        )

    def merge(
        self,
        method: Callable[..., Any],
        *args: Any,
        patch: Mapping[str, Any],
        field_manager: str = FIELD_MANAGER,
        dry_run: bool = False,
    ) -> JsonObject:
        """An RFC 7386 merge patch through a typed `patch_*` method (which would otherwise pick a
        strategic merge patch); a `metadata.resourceVersion` in it makes the write conditional."""
        return self.call(
            method,
            *args,
            dict(patch),
            field_manager=field_manager,
            _content_type=MERGE_PATCH,
            **_dry_run(dry_run),
        )

    def delete(
        self, manifest: Mapping[str, Any], *, propagation: str = "Background", dry_run: bool = False
    ) -> JsonObject:
        method, args = self.method_for("delete", manifest, "")
        return self.call(method, *args, propagation_policy=propagation, **_dry_run(dry_run))

    def method_for(
        self, verb: str, manifest: Mapping[str, Any], subresource: str = ""
    ) -> tuple[Callable[..., Any], tuple[str, ...]]:
        """The typed method for a verb (read, patch, delete, list, ...) on a manifest's kind, and its
        leading arguments (name and/or namespace): the generated client's naming rule
        (`patch_namespaced_daemon_set_status`), as `kubernetes.utils.create_from_dict` uses it."""
        api = self._api(str(manifest.get("apiVersion", "")))
        meta = manifest.get("metadata") or {}
        namespace = meta.get("namespace")
        kind = _snake(str(manifest["kind"]))
        name = "_".join(p for p in (verb, "namespaced" if namespace else "", kind, subresource) if p)
        method = getattr(api, name, None)
        if method is None:
            raise KubeApiError(
                0, "UnsupportedKind", f"no {name} in {type(api).__name__}", verb=verb, path=kind
            )
        if verb == "list":
            return method, ((namespace,) if namespace else ())
        return method, ((meta["name"], namespace) if namespace else (meta["name"],))

    def _api(self, api_version: str) -> Any:
        group, _, version = api_version.rpartition("/")
        prefix = "".join(p.capitalize() for p in re.split(r"[.\-]", group.removesuffix(".k8s.io")))
        class_name = f"{prefix or 'Core'}{version.capitalize()}Api"
        api_class = getattr(k8s, class_name, None)
        if api_class is None:
            raise KubeApiError(0, "UnsupportedKind", f"no {class_name}", verb="", path=api_version)
        return api_class(self.api_client)


# --- building clients ------------------------------------------------------------------------------


def kube_from_kubeconfig(path: str | Path, *, context: str | None = None) -> Kube:
    """A client for a kubeconfig's current (or named) context: tests, the local stack, KUBECONFIG.

    The library's loader handles tokens, client certificates and `*-data` fields; for the latter it
    writes its own temporary files (removed at exit). Acceptable here: kubeconfigs are for
    development, while Lambda in AWS goes through `kube_for_endpoint` and keeps its CA in memory.
    """
    configuration = k8s.Configuration()
    kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]  # untyped in the library
        config_file=str(path), context=context, client_configuration=configuration, persist_config=False
    )
    configuration.retries = False
    return Kube(CountingApiClient(configuration))


def kube_for_endpoint(endpoint: str, ca_data: str, token: TokenProvider) -> Kube:
    """A client for an API server given its URL, its CA (base64 PEM, as EKS returns it) and a
    bearer-token provider called before every request (it caches and re-mints; see `eks`)."""
    configuration = k8s.Configuration()
    configuration.host = endpoint
    configuration.retries = False
    configuration.api_key_prefix["authorization"] = "Bearer"

    def refresh(config: k8s.Configuration) -> None:
        # Called by the client for every request (Configuration.get_api_key_with_prefix), so a warm
        # client never sends a token past its lifetime.
        config.api_key["authorization"] = token()

    configuration.refresh_api_key_hook = refresh  # type: ignore[assignment]  # declared as None
    # The client only asks for a BearerToken (and so calls the hook) when this key exists.
    configuration.api_key["authorization"] = ""
    api_client = CountingApiClient(configuration)
    # The official client only takes the CA as a file path (`ssl_ca_cert`), which would mean a
    # temporary PEM per client on Lambda's /tmp. Its RESTClientObject keeps one urllib3 PoolManager
    # (`rest_client.pool_manager`); we replace it with one built on an SSLContext holding the CA in
    # memory (`cadata=`). Same pool size and no retries, as the original would have had.
    context = ssl.create_default_context(cadata=base64.b64decode(ca_data).decode("ascii"))
    api_client.rest_client.pool_manager = urllib3.PoolManager(
        num_pools=4,
        maxsize=configuration.connection_pool_maxsize,
        ssl_context=context,
        retries=False,
    )
    return Kube(api_client)


# --- helpers ---------------------------------------------------------------------------------------


def _dry_run(dry_run: bool) -> dict[str, str]:
    return {"dry_run": "All"} if dry_run else {}


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def _resource_of(path: str) -> str:
    """`/apis/apps/v1/namespaces/ns/deployments/x/scale` -> `deployments/scale`: a bounded key."""
    parts = path.strip("/").split("/")
    parts = parts[2:] if parts[0] == "api" else parts[3:] if parts[0] == "apis" else parts
    if len(parts) >= 3 and parts[0] == "namespaces":
        parts = parts[2:]
    if not parts:
        return path
    return parts[0] + (f"/{parts[2]}" if len(parts) > 2 else "")


def _error_from(status: int, reason: Any, body: Any, headers: Any, *, verb: str, path: str) -> KubeApiError:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    reason, message = str(reason or ""), text[:300]
    try:
        status_obj = json.loads(text)
        reason = str(status_obj.get("reason") or reason)
        message = str(status_obj.get("message") or message)
    except (ValueError, AttributeError):
        pass
    retry_after: float | None = None
    with contextlib.suppress(TypeError, ValueError):
        retry_after = float((headers or {}).get("Retry-After") or "")
    return kube_error_for(int(status), reason, message, verb=verb, path=path, retry_after=retry_after)
