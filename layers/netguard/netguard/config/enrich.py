"""Settings of the enrichment function, read once from the environment at cold start.

Every invalid value fails with the variable's name and what it should be.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from netguard.clients.eks import ClusterAccess
from netguard.config.env import EnvReader
from netguard.errors import ConfigError

_AMP_HOST = re.compile(r"aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com")
_CLUSTER_KEYS = {"eks_name", "region", "kubeconfig"}


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    """The name alerts carry in the cluster label."""
    eks_name: str
    region: str
    kubeconfig: str | None = None
    """When set, used instead of EKS (tests, the local stack)."""

    @property
    def access(self) -> ClusterAccess:
        return ClusterAccess(name=self.eks_name, region=self.region, kubeconfig=self.kubeconfig)


def _no_clusters() -> Mapping[str, ClusterConfig]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Settings:
    enriched_topic_arn: str
    """ENRICHED_TOPIC_ARN: where enriched events are published."""
    state_table: str
    """STATE_TABLE: DynamoDB table for idempotency records (`idem#enrich`)."""
    region: str
    """AWS_REGION: the function's region; EC2 look-ups for unconfigured clusters use it."""
    raw_bucket: str | None = None
    """RAW_BUCKET: S3 bucket where unparseable messages are kept whole (unset: not kept, and said so)."""
    cluster_label: str = "cluster"
    """CLUSTER_LABEL: the alert label naming the cluster."""
    default_cluster: str = ""
    """DEFAULT_CLUSTER: the cluster of alerts without the label (a key of CLUSTERS)."""
    clusters: Mapping[str, ClusterConfig] = field(default_factory=_no_clusters)
    """CLUSTERS: JSON {"name": {"eks_name": ..., "region": ..., "kubeconfig": optional}}."""
    prometheus_url: str | None = None
    """PROMETHEUS_URL: AMP workspace URL (https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-...)
    or any Prometheus base URL; /api/v1/query is appended. Unset: no drop rates."""
    prometheus_sigv4_region: str | None = None
    """PROMETHEUS_SIGV4_REGION: sign queries for AMP; derived from an AMP URL when unset."""
    drop_rate_query: str = 'sum by (instance) (rate(node_net_ethtool{type="{counter}"}[2m]))'
    """DROP_RATE_QUERY: PromQL with {counter} (and optionally {cluster}) placeholders."""
    graph_url_template: str | None = None
    """GRAPH_URL_TEMPLATE: link per alert with {expr} {cluster} {node} {instance} {ip} {instance_id}
    {alertname} {counter} (URL-encoded); unset: a Prometheus /graph link for a non-AMP URL."""
    instance_type_cache_seconds: int = 6 * 3600
    """INSTANCE_TYPE_CACHE_SECONDS: how long instance-type network facts are reused."""
    idempotency_ttl_seconds: int = 7 * 24 * 3600
    """IDEMPOTENCY_TTL_SECONDS: how long a processed message id is remembered."""
    kube_per_node_pod_lists: int = 3
    """KUBE_PER_NODE_POD_LISTS: up to this many alerting nodes, pods are listed per node; beyond, once."""
    dns_namespace: str = "kube-system"
    """DNS_NAMESPACE: where CoreDNS, kube-dns and NodeLocal DNSCache live."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = EnvReader(os.environ if environ is None else environ)
        region = env.str("AWS_REGION", env.str("AWS_DEFAULT_REGION", "us-east-1"))
        clusters = _clusters(env, region)
        default = env.optional("DEFAULT_CLUSTER")
        if default is None and len(clusters) == 1:
            default = next(iter(clusters))
        if default is not None and default not in clusters:
            if clusters:
                raise ConfigError(
                    f"DEFAULT_CLUSTER={default!r} is not a key of CLUSTERS "
                    f"(configured: {', '.join(sorted(clusters))})"
                )
            # A single cluster named only by DEFAULT_CLUSTER: same EKS name, the function's region.
            clusters[default] = ClusterConfig(name=default, eks_name=default, region=region)
        if default is None:
            raise ConfigError(
                "DEFAULT_CLUSTER or CLUSTERS is required (the cluster of alerts without a cluster label)"
            )
        kubeconfig = env.optional("KUBECONFIG")
        if kubeconfig and not clusters[default].kubeconfig:
            clusters[default] = ClusterConfig(
                name=default,
                eks_name=clusters[default].eks_name,
                region=clusters[default].region,
                kubeconfig=kubeconfig,
            )
        prometheus_url = env.optional("PROMETHEUS_URL")
        if prometheus_url and not prometheus_url.startswith(("http://", "https://")):
            raise ConfigError(f"PROMETHEUS_URL={prometheus_url!r} must start with http:// or https://")
        sigv4_region = env.optional("PROMETHEUS_SIGV4_REGION")
        if prometheus_url and sigv4_region is None and (match := _AMP_HOST.search(prometheus_url)):
            sigv4_region = match.group(1)
        query = env.str("DROP_RATE_QUERY", cls.drop_rate_query)
        if "{counter}" not in query:
            raise ConfigError(f"DROP_RATE_QUERY={query!r} must contain the {{counter}} placeholder")
        return cls(
            enriched_topic_arn=env.str("ENRICHED_TOPIC_ARN"),
            state_table=env.str("STATE_TABLE"),
            region=region,
            raw_bucket=env.optional("RAW_BUCKET"),
            cluster_label=env.str("CLUSTER_LABEL", "cluster"),
            default_cluster=default,
            clusters=MappingProxyType(clusters),
            prometheus_url=prometheus_url.rstrip("/") if prometheus_url else None,
            prometheus_sigv4_region=sigv4_region,
            drop_rate_query=query,
            graph_url_template=env.optional("GRAPH_URL_TEMPLATE"),
            instance_type_cache_seconds=env.int(
                "INSTANCE_TYPE_CACHE_SECONDS", 6 * 3600, minimum=0, maximum=7 * 86400
            ),
            idempotency_ttl_seconds=env.int(
                "IDEMPOTENCY_TTL_SECONDS", 7 * 24 * 3600, minimum=60, maximum=365 * 86400
            ),
            kube_per_node_pod_lists=env.int("KUBE_PER_NODE_POD_LISTS", 3, minimum=0, maximum=20),
            dns_namespace=env.str("DNS_NAMESPACE", "kube-system"),
        )


def _clusters(env: EnvReader, region: str) -> dict[str, ClusterConfig]:
    clusters: dict[str, ClusterConfig] = {}
    for name, value in env.json_object("CLUSTERS").items():
        if not isinstance(value, dict):
            raise ConfigError(f"CLUSTERS[{name!r}] must be an object with eks_name, region, kubeconfig")
        unknown = set(value) - _CLUSTER_KEYS
        if unknown:
            raise ConfigError(
                f"CLUSTERS[{name!r}] has unknown keys {sorted(unknown)}; "
                "allowed: eks_name, region, kubeconfig"
            )
        for key in _CLUSTER_KEYS:
            if value.get(key) is not None and not isinstance(value[key], str):
                raise ConfigError(f"CLUSTERS[{name!r}].{key} must be a string")
        clusters[name] = ClusterConfig(
            name=name,
            eks_name=value.get("eks_name") or name,
            region=value.get("region") or region,
            kubeconfig=value.get("kubeconfig") or None,
        )
    return clusters
