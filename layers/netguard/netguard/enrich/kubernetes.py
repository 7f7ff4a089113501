"""Kubernetes look-ups for one cluster with a constant number of requests, whatever the alert count:
one node list, the cluster DNS observation (`netguard.dns`, about 8 requests), and the pods that
bypass cluster DNS on the nodes that need it.

Pods: for up to `per_node_limit` nodes (default 3), one list per node with
`fieldSelector=spec.nodeName=<node>` (small answers); beyond that, one cluster-wide list filtered
here. The request count is thus at most `per_node_limit`, or the pages of one list (500 pods each),
and never grows with the number of alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from netguard.clients.kubernetes import JsonObject, Kube
from netguard.dns.models import ClusterDns
from netguard.dns.observe import observe_cluster_dns
from netguard.enrich.models import NodeRecord
from netguard.enriched.models import NodeInfo

log = logging.getLogger(__name__)

DEFAULT_PER_NODE_LIMIT = 3
MAX_BYPASS_PODS_PER_NODE = 25
"""Enough to act on; a node with more is listed with a count so the event stays small."""
_NODEGROUP_LABELS = ("eks.amazonaws.com/nodegroup", "karpenter.sh/nodepool", "alpha.eksctl.io/nodegroup-name")


class KubernetesEnricher:
    def __init__(
        self,
        kube: Kube,
        *,
        namespace: str = "kube-system",
        per_node_limit: int = DEFAULT_PER_NODE_LIMIT,
    ) -> None:
        self._kube = kube
        self._namespace = namespace
        self._per_node_limit = per_node_limit

    @property
    def calls(self) -> Mapping[str, int]:
        return dict(self._kube.calls)

    def nodes(self) -> tuple[NodeRecord, ...]:
        """Every node, in one (paged) list."""
        return tuple(_node_record(n) for n in self._kube.list_all(self._kube.core.list_node))

    def cluster_dns(self) -> ClusterDns:
        return observe_cluster_dns(self._kube, namespace=self._namespace)

    def dns_bypass_pods(self, node_names: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """`namespace/name` of running pods on each node that resolve through the VPC resolver directly."""
        wanted = sorted({n for n in node_names if n})
        if not wanted:
            return {}
        if len(wanted) <= self._per_node_limit:
            pods = [
                p
                for name in wanted
                for p in self._kube.list_all(
                    self._kube.core.list_pod_for_all_namespaces, field_selector=f"spec.nodeName={name}"
                )
            ]
        else:
            pods = self._kube.list_all(
                self._kube.core.list_pod_for_all_namespaces, field_selector="status.phase=Running"
            )
        by_node: dict[str, list[str]] = {name: [] for name in wanted}
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName") or ""
            if node in by_node and bypasses_cluster_dns(pod):
                meta = pod["metadata"]
                by_node[node].append(f"{meta.get('namespace', '')}/{meta['name']}")
        return {node: _capped(sorted(names)) for node, names in by_node.items()}


def bypasses_cluster_dns(pod: JsonObject) -> bool:
    """True when the pod's DNS queries go straight to the node's resolver (the VPC resolver).

    `dnsPolicy: Default` does so; a host-network pod does too unless its policy is
    `ClusterFirstWithHostNet` (plain `ClusterFirst` falls back to `Default` on the host network).
    """
    spec = pod.get("spec") or {}
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "Default":
        return True
    return bool(spec.get("hostNetwork")) and policy == "ClusterFirst"


def _capped(names: list[str]) -> tuple[str, ...]:
    if len(names) <= MAX_BYPASS_PODS_PER_NODE:
        return tuple(names)
    more = len(names) - MAX_BYPASS_PODS_PER_NODE
    return (*names[:MAX_BYPASS_PODS_PER_NODE], f"... and {more} more")


def instance_id_from_provider(provider_id: str) -> str:
    """`aws:///us-east-1a/i-0abc` -> `i-0abc`; "" for other providers."""
    if not provider_id.startswith("aws://"):
        return ""
    last = provider_id.rstrip("/").rsplit("/", 1)[-1]
    return last if last.startswith("i-") else ""


def _node_record(node: JsonObject) -> NodeRecord:
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = node.get("status") or {}
    provider_id = (node.get("spec") or {}).get("providerID", "")
    addresses = {a.get("type"): a.get("address", "") for a in status.get("addresses") or []}
    ready_values = [c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    info = NodeInfo(
        name=meta.get("name", ""),
        internal_ip=addresses.get("InternalIP", ""),
        provider_id=provider_id,
        instance_type=labels.get("node.kubernetes.io/instance-type")
        or labels.get("beta.kubernetes.io/instance-type", ""),
        zone=labels.get("topology.kubernetes.io/zone")
        or labels.get("failure-domain.beta.kubernetes.io/zone", ""),
        nodegroup=next((labels[k] for k in _NODEGROUP_LABELS if labels.get(k)), ""),
        ready=(ready_values[0] == "True") if ready_values else None,
    )
    return NodeRecord(info=info, instance_id=instance_id_from_provider(provider_id))
