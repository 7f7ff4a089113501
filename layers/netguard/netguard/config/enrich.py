"""Settings of the enrichment function, read once from the environment at cold start.

Every invalid value fails with the variable's name and what it should be.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from netguard.config.clusters import (
    ClusterConfig,
    query_cluster_label,
    read_cluster_label,
    read_clusters,
    read_prometheus,
    read_region,
)
from netguard.config.env import EnvReader
from netguard.errors import ConfigError


def _no_clusters() -> Mapping[str, ClusterConfig]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Settings:
    enriched_topic_arn: str
    """ENRICHED_TOPIC_ARN: where enriched events are published."""
    state_table: str
    """STATE_TABLE: DynamoDB table for idempotency records (`enrich#idem#enrich`)."""
    region: str
    """AWS_REGION: the function's region; EC2 look-ups for unconfigured clusters use it."""
    legacy_state_reads: bool = True
    """LEGACY_STATE_READS: also read the items the key scheme before owner prefixes wrote (until their
    TTL has passed since the upgrade; `state.owned`). false once it has: the template then drops the
    read grant too."""
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
    drop_rate_query: str = 'sum by (instance) (netguard:ena_allowance_exceeded:rate2m{type="{counter}"})'
    """DROP_RATE_QUERY: PromQL with {counter} (and optionally {cluster}) placeholders; by default the
    series amp/rules.yaml records from either exporter dialect, `instance` being the node's address."""
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

    @property
    def query_cluster_label(self) -> str | None:
        """The label every PromQL query is scoped by: the cluster label, or None (`CLUSTER_LABEL=none`,
        a workspace whose series carry no cluster label) for unscoped queries."""
        return query_cluster_label(self.cluster_label)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = EnvReader(os.environ if environ is None else environ)
        region = read_region(env)
        clusters, default = read_clusters(env, region)
        if default is None:
            raise ConfigError(
                f"DEFAULT_CLUSTER is required with several CLUSTERS ({', '.join(sorted(clusters))}): "
                "it is the cluster of alerts without a cluster label"
            )
        prometheus_url, sigv4_region = read_prometheus(env)
        query = env.str("DROP_RATE_QUERY", cls.drop_rate_query)
        if "{counter}" not in query:
            raise ConfigError(f"DROP_RATE_QUERY={query!r} must contain the {{counter}} placeholder")
        return cls(
            enriched_topic_arn=env.str("ENRICHED_TOPIC_ARN"),
            state_table=env.str("STATE_TABLE"),
            legacy_state_reads=env.bool("LEGACY_STATE_READS", True),
            region=region,
            raw_bucket=env.optional("RAW_BUCKET"),
            cluster_label=read_cluster_label(env),
            default_cluster=default,
            clusters=MappingProxyType(clusters),
            prometheus_url=prometheus_url,
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
