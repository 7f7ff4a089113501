"""In-memory API servers under the real official client, for unit tests.

`memory_kube(serve)` is a real `netguard.clients.kubernetes.Kube` (typed APIs, call counting, error
mapping) whose transport hands each request to `serve(verb, path, query, headers, body)` instead of
the network; `serve` returns (status, JSON) or raises `HttpStatus`. `FakeKube` serves get and list:
objects live in collections addressed by API path, lists filter by equality label selectors and
`spec.nodeName` / `metadata.name` field selectors. Not a fixture module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import kubernetes.client as k8s
import urllib3
from kubernetes.client import rest

from netguard.clients.kubernetes import CountingApiClient, Kube, KubeApiError

JsonObject = dict[str, Any]
Serve = Callable[[str, str, dict[str, str], dict[str, str], Any], tuple[int, Any]]


class HttpStatus(Exception):
    """Raised by a `serve` function: answer with this status and a Kubernetes `Status` body."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class _MemoryRest(rest.RESTClientObject):
    """The official client's transport, answered in memory (its GET/PATCH/... all end here)."""

    def __init__(self, serve: Serve) -> None:  # no pool: nothing goes to the network
        self._serve = serve

    def request(  # the library's signature
        self,
        method: str,
        url: str,
        headers: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        try:
            status, payload = self._serve(method, unquote(parts.path), query, dict(headers or {}), body)
        except HttpStatus as exc:
            status = exc.status
            payload = {"kind": "Status", "status": "Failure", "reason": exc.reason, "message": exc.message}
        # What the real transport returns: non-2xx answers are raised by the client above it.
        return rest.RESTResponse(
            urllib3.HTTPResponse(
                body=json.dumps(payload).encode(), status=status, headers={"Content-Type": "application/json"}
            )
        )


def memory_kube(serve: Serve) -> CountingApiClient:
    """An ApiClient whose requests go to `serve`; wrap it in `Kube` (or subclass `Kube`)."""
    configuration = k8s.Configuration()
    configuration.host = "http://memory"
    api_client = CountingApiClient(configuration)
    api_client.rest_client = _MemoryRest(serve)
    return api_client


class FakeKube(Kube):
    def __init__(self) -> None:
        super().__init__(memory_kube(self._serve))
        self.collections: dict[str, list[JsonObject]] = {}
        self.failures: dict[str, KubeApiError] = {}
        """Path prefix -> error raised by any request under it."""

    def add(self, collection: str, *objects: JsonObject) -> FakeKube:
        self.collections.setdefault(collection.rstrip("/"), []).extend(objects)
        return self

    def fail(self, prefix: str, error: KubeApiError) -> FakeKube:
        self.failures[prefix] = error
        return self

    def _serve(
        self, verb: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        for prefix, error in self.failures.items():
            if path.startswith(prefix):
                raise error
        assert verb == "GET", f"FakeKube serves reads only, not {verb} {path}"
        if "limit" in query:  # Kube.list_all always pages
            return 200, {"items": self._list(path, query), "metadata": {}}
        collection, _, name = path.rstrip("/").rpartition("/")
        for obj in self.collections.get(collection, []):
            if obj["metadata"]["name"] == name:
                return 200, obj
        raise HttpStatus(404, "NotFound", f"{name} not found")

    def _list(self, path: str, query: dict[str, str]) -> list[JsonObject]:
        items: Iterable[JsonObject] = self.collections.get(path.rstrip("/"), [])
        if path.rstrip("/") == "/api/v1/pods":
            items = [o for c, objs in self.collections.items() if c.endswith("/pods") for o in objs]
        if label_selector := query.get("labelSelector"):
            wanted = dict(part.split("=", 1) for part in label_selector.split(","))
            items = [
                o
                for o in items
                if all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
            ]
        if field_selector := query.get("fieldSelector"):
            for part in field_selector.split(","):
                key, _, value = part.partition("=")
                if key == "spec.nodeName":
                    items = [o for o in items if (o.get("spec") or {}).get("nodeName") == value]
                elif key == "metadata.name":
                    items = [o for o in items if o["metadata"]["name"] == value]
        return list(items)


# --- builders -------------------------------------------------------------------------------------


def deployment(
    name: str,
    *,
    replicas: int = 2,
    ready: int = 2,
    labels: dict[str, str] | None = None,
    args: list[str] | None = None,
    configmap: str | None = None,
) -> JsonObject:
    pod_spec: JsonObject = {"containers": [{"name": name, "image": "x", "args": args or []}]}
    if configmap:
        pod_spec["volumes"] = [{"name": "config-volume", "configMap": {"name": configmap}}]
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels or {"app": name}},
            "template": {"spec": pod_spec},
        },
        "status": {"readyReplicas": ready},
    }


def pod(
    name: str,
    node: str,
    *,
    namespace: str = "kube-system",
    labels: dict[str, str] | None = None,
    ready: bool = True,
    phase: str = "Running",
    host_network: bool = False,
    dns_policy: str = "ClusterFirst",
) -> JsonObject:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"nodeName": node, "hostNetwork": host_network, "dnsPolicy": dns_policy},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def configmap(name: str, data: dict[str, str]) -> JsonObject:
    return {"metadata": {"name": name}, "data": data}


def node(
    name: str,
    ip: str,
    *,
    instance_id: str,
    az: str = "us-east-1a",
    instance_type: str = "m5.large",
    nodegroup: str = "ng-1",
    ready: bool = True,
) -> JsonObject:
    return {
        "metadata": {
            "name": name,
            "labels": {
                "node.kubernetes.io/instance-type": instance_type,
                "topology.kubernetes.io/zone": az,
                "eks.amazonaws.com/nodegroup": nodegroup,
            },
        },
        "spec": {"providerID": f"aws:///{az}/{instance_id}"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


COREFILE = """.:53 {
    errors
    health
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
"""


def standard_cluster(
    *, coredns_nodes: tuple[str, ...] = ("node-a", "node-b"), proxy_mode: str = ""
) -> FakeKube:
    """kube-system as EKS sets it up: CoreDNS Deployment, its pods, kube-dns, kube-proxy config."""
    ns = "/apis/apps/v1/namespaces/kube-system"
    core = "/api/v1/namespaces/kube-system"
    labels = {"k8s-app": "kube-dns"}
    kube = FakeKube()
    kube.add(
        f"{ns}/deployments",
        deployment(
            "coredns",
            replicas=len(coredns_nodes),
            ready=len(coredns_nodes),
            labels=labels,
            configmap="coredns",
        ),
    )
    # dnsPolicy Default, as CoreDNS runs on EKS: the forwarder of cluster DNS, not a bypasser.
    kube.add(
        f"{core}/pods",
        *(pod(f"coredns-{i}", n, labels=labels, dns_policy="Default") for i, n in enumerate(coredns_nodes)),
    )
    kube.add(
        f"{core}/configmaps",
        configmap("coredns", {"Corefile": COREFILE}),
        configmap(
            "kube-proxy",
            {
                "config": f"apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
                f'kind: KubeProxyConfiguration\nmode: "{proxy_mode}"\n'
            },
        ),
    )
    kube.add(f"{core}/services", {"metadata": {"name": "kube-dns"}, "spec": {"clusterIP": "10.100.0.10"}})
    kube.add("/apis/autoscaling/v2/namespaces/kube-system/horizontalpodautoscalers")
    return kube
