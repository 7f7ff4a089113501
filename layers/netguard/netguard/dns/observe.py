"""Reads a cluster's DNS set-up through the Kubernetes API with a constant number of requests.

Who calls it: enrichment (once per cluster per invocation) and remediation (before deciding). The
EKS managed add-on owner is not detected here (it needs the EKS API); remediation checks it.
Failures of the API surface as `KubeApiError` (netguard.clients.errors); a cluster without a
CoreDNS Deployment raises `DnsObservationError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import yaml

from netguard.clients.kubernetes import JsonObject, Kube, KubeNotFound
from netguard.dns.errors import DnsObservationError
from netguard.dns.models import ClusterDns, CoreDnsPod, OwnerKind, ReplicaOwner

COREDNS_LABEL = "k8s-app=kube-dns"
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
NODELOCAL_DAEMONSET = "node-local-dns"
_KUBE_PROXY_CONFIGMAPS = ("kube-proxy", "kube-proxy-config")
_TARGET_ARG = re.compile(r"^--target=(?:deployment|deployments)/(?P<name>[^,\s]+)$", re.IGNORECASE)


def observe_cluster_dns(kube: Kube, *, namespace: str = "kube-system") -> ClusterDns:
    """Everything about cluster DNS that enrichment and remediation need (about 8 requests)."""
    deployments = kube.list_all(kube.apps.list_namespaced_deployment, namespace)
    coredns = _find_coredns(deployments)
    if coredns is None:
        raise DnsObservationError(f"no CoreDNS Deployment (label {COREDNS_LABEL}) in namespace {namespace}")
    name = coredns["metadata"]["name"]
    spec = coredns.get("spec") or {}
    selector = _selector((spec.get("selector") or {}).get("matchLabels")) or COREDNS_LABEL
    pods = kube.list_all(kube.core.list_namespaced_pod, namespace, label_selector=selector)
    return ClusterDns(
        coredns_desired=int(spec.get("replicas", 1)),
        coredns_ready=int((coredns.get("status") or {}).get("readyReplicas") or 0),
        pods=tuple(sorted((_pod(p) for p in pods), key=lambda p: p.name)),
        owner=_owner(kube, namespace, coredns, deployments),
        nodelocal_enabled=_exists(
            lambda: kube.call(kube.apps.read_namespaced_daemon_set, NODELOCAL_DAEMONSET, namespace)
        ),
        kube_proxy_mode=_kube_proxy_mode(kube, namespace),
        kube_dns_ip=_kube_dns_ip(kube, namespace),
        cluster_domain=_cluster_domain(kube, namespace, coredns),
        deployment_name=name,
        namespace=namespace,
    )


# --- CoreDNS and its pods --------------------------------------------------------------------------


def _find_coredns(deployments: Sequence[JsonObject]) -> JsonObject | None:
    labelled = [d for d in deployments if (d["metadata"].get("labels") or {}).get("k8s-app") == "kube-dns"]
    by_name = {d["metadata"]["name"]: d for d in deployments}
    if len(labelled) == 1:
        return labelled[0]
    for candidate in ("coredns", "kube-dns"):
        if candidate in by_name:
            return by_name[candidate]
    return labelled[0] if labelled else None


def _selector(labels: Mapping[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def _pod(pod: JsonObject) -> CoreDnsPod:
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    return CoreDnsPod(
        name=pod["metadata"]["name"],
        node_name=(pod.get("spec") or {}).get("nodeName") or "",
        ready=ready,
        phase=status.get("phase") or "Unknown",
    )


# --- who owns the replica count --------------------------------------------------------------------


def _owner(
    kube: Kube, namespace: str, coredns: JsonObject, deployments: Sequence[JsonObject]
) -> ReplicaOwner:
    name = coredns["metadata"]["name"]
    hpa = _hpa_for(kube, namespace, name)
    if hpa is not None:
        spec = hpa.get("spec") or {}
        return ReplicaOwner(
            kind=OwnerKind.HPA,
            name=hpa["metadata"]["name"],
            detail={
                "min_replicas": int(spec.get("minReplicas", 1)),
                "max_replicas": int(spec.get("maxReplicas", 0)),
            },
        )
    for deployment in deployments:
        args = list(_container_args(deployment))
        if any((m := _TARGET_ARG.match(a)) and m.group("name") == name for a in args):
            return ReplicaOwner(
                kind=OwnerKind.CLUSTER_PROPORTIONAL_AUTOSCALER,
                name=deployment["metadata"]["name"],
                detail=_autoscaler_detail(kube, namespace, args),
            )
    return ReplicaOwner(
        kind=OwnerKind.DEPLOYMENT,
        name=name,
        detail={"replicas": int((coredns.get("spec") or {}).get("replicas", 1))},
    )


def _hpa_for(kube: Kube, namespace: str, deployment: str) -> JsonObject | None:
    try:
        hpas = kube.list_all(kube.autoscaling.list_namespaced_horizontal_pod_autoscaler, namespace)
    except KubeNotFound:
        hpas = kube.list_all(kube.autoscaling_v1.list_namespaced_horizontal_pod_autoscaler, namespace)
    for hpa in hpas:
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if target.get("kind") == "Deployment" and target.get("name") == deployment:
            return hpa
    return None


def _container_args(deployment: JsonObject) -> Iterable[str]:
    template = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in template.get("containers") or []:
        for value in [*(container.get("command") or []), *(container.get("args") or [])]:
            yield str(value)


def _autoscaler_detail(kube: Kube, namespace: str, args: Sequence[str]) -> dict[str, Any]:
    """The autoscaler's ConfigMap name and its parsed `linear` / `ladder` parameters."""
    flags = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if a.startswith("--") and "=" in a}
    detail: dict[str, Any] = {
        "configmap": flags.get("--configmap", ""),
        "namespace": flags.get("--namespace", namespace),
    }
    params: Mapping[str, Any] = {}
    if detail["configmap"]:
        try:
            cm = kube.call(kube.core.read_namespaced_config_map, detail["configmap"], detail["namespace"])
            params = cm.get("data") or {}
        except KubeNotFound:
            params = {}
    if not params and "--default-params" in flags:
        params = _json_object(flags["--default-params"])
    for mode in ("linear", "ladder"):
        value = params.get(mode)
        parsed = _json_object(value) if isinstance(value, str) else value
        if isinstance(parsed, Mapping) and parsed:
            detail[mode] = dict(parsed)
    return detail


def _json_object(text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- NodeLocal DNSCache, kube-proxy, kube-dns, cluster domain --------------------------------------


def _exists(read: Callable[[], object]) -> bool:
    try:
        read()
    except KubeNotFound:
        return False
    return True


def parse_kube_proxy_mode(config_text: str) -> str | None:
    """The proxy mode of a KubeProxyConfiguration; "iptables" when it is empty (the Linux default),
    None when the text is not a kube-proxy configuration."""
    try:
        config = yaml.safe_load(config_text)
    except yaml.YAMLError:
        return None
    if not isinstance(config, dict) or (
        "mode" not in config and config.get("kind") != "KubeProxyConfiguration"
    ):
        return None
    mode = str(config.get("mode") or "").strip().lower()
    return mode or "iptables"


def _kube_proxy_mode(kube: Kube, namespace: str) -> str:
    for name in _KUBE_PROXY_CONFIGMAPS:
        try:
            data = kube.call(kube.core.read_namespaced_config_map, name, namespace).get("data") or {}
        except KubeNotFound:
            continue
        keys = ["config", "config.conf", *sorted(k for k in data if k not in ("config", "config.conf"))]
        for key in keys:
            if key in data and (mode := parse_kube_proxy_mode(str(data[key]))) is not None:
                return mode
    return ""


def _kube_dns_ip(kube: Kube, namespace: str) -> str:
    try:
        service = kube.call(kube.core.read_namespaced_service, "kube-dns", namespace)
    except KubeNotFound:
        return ""
    ip = (service.get("spec") or {}).get("clusterIP") or ""
    return "" if ip == "None" else str(ip)


def parse_cluster_domain(corefile: str) -> str:
    """The zone of the Corefile's `kubernetes` plugin, e.g. `kubernetes cluster.local in-addr.arpa {`."""
    for line in corefile.splitlines():
        tokens = line.split("#", 1)[0].split()
        if tokens and tokens[0] == "kubernetes":
            zones = [t for t in tokens[1:] if t != "{" and not t.endswith(".arpa")]
            if zones:
                return zones[0].rstrip(".")
    return DEFAULT_CLUSTER_DOMAIN


def _cluster_domain(kube: Kube, namespace: str, coredns: JsonObject) -> str:
    template = ((coredns.get("spec") or {}).get("template") or {}).get("spec") or {}
    names = [(v.get("configMap") or {}).get("name") for v in template.get("volumes") or []]
    name = next((n for n in names if n), "coredns")
    try:
        data = kube.call(kube.core.read_namespaced_config_map, name, namespace).get("data") or {}
    except KubeNotFound:
        return DEFAULT_CLUSTER_DOMAIN
    return parse_cluster_domain(str(data.get("Corefile", "")))
