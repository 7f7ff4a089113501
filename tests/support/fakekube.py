"""An in-memory stand-in for `netguard.clients.kubernetes.KubeClient` (get and list only).

Objects live in collections addressed by API path; `get` finds one by name, `list` filters by
equality label selectors and `spec.nodeName` / `metadata.name` field selectors. `.calls` counts
requests like the real client, so unit tests can assert request budgets. Not a fixture module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from netguard.clients.kubernetes import KubeApiError, KubeNotFound, _resource_of

JsonObject = dict[str, Any]


class FakeKube:
    def __init__(self) -> None:
        self.collections: dict[str, list[JsonObject]] = {}
        self.failures: dict[str, KubeApiError] = {}
        """Path prefix -> error raised by any request under it."""
        self.calls: dict[str, int] = {}

    def add(self, collection: str, *objects: JsonObject) -> FakeKube:
        self.collections.setdefault(collection.rstrip("/"), []).extend(objects)
        return self

    def fail(self, prefix: str, error: KubeApiError) -> FakeKube:
        self.failures[prefix] = error
        return self

    def _count(self, verb: str, path: str) -> None:
        key = f"{verb} {_resource_of(path)}"
        self.calls[key] = self.calls.get(key, 0) + 1
        for prefix, error in self.failures.items():
            if path.startswith(prefix):
                raise error

    def get(self, path: str) -> JsonObject:
        self._count("GET", path)
        collection, _, name = path.rstrip("/").rpartition("/")
        for obj in self.collections.get(collection, []):
            if obj["metadata"]["name"] == name:
                return obj
        raise KubeNotFound(404, "NotFound", f"{name} not found", verb="GET", path=path)

    def list(
        self,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
    ) -> list[JsonObject]:
        self._count("GET", path)
        items: Iterable[JsonObject] = self.collections.get(path.rstrip("/"), [])
        if path.startswith("/api/v1/pods") or path == "/api/v1/pods":
            items = [o for c, objs in self.collections.items() if c.endswith("/pods") for o in objs]
        if label_selector:
            wanted = dict(part.split("=", 1) for part in label_selector.split(","))
            items = [
                o
                for o in items
                if all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
            ]
        if field_selector:
            for part in field_selector.split(","):
                key, _, value = part.partition("=")
                if key == "spec.nodeName":
                    items = [o for o in items if (o.get("spec") or {}).get("nodeName") == value]
                elif key == "metadata.name":
                    items = [o for o in items if o["metadata"]["name"] == value]
        return list(items)

    def total_calls(self) -> int:
        return sum(self.calls.values())


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
    kube.add(f"{core}/pods", *(pod(f"coredns-{i}", n, labels=labels) for i, n in enumerate(coredns_nodes)))
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
