"""The clusters a deployment serves and the optional Prometheus query endpoint, read the same way
by every function that reaches a cluster (enrich, remediate)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from netguard.clients.eks import ClusterAccess
from netguard.config.env import EnvReader
from netguard.errors import ConfigError

_CLUSTER_KEYS = ("eks_name", "region", "kubeconfig")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
"""A Prometheus label name (the only names a PromQL matcher can carry)."""
_AMP_HOST = re.compile(r"aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com")


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


def read_region(env: EnvReader) -> str:
    return env.str("AWS_REGION", env.str("AWS_DEFAULT_REGION", "us-east-1"))


def read_clusters(env: EnvReader, region: str) -> tuple[dict[str, ClusterConfig], str | None]:
    """CLUSTERS, DEFAULT_CLUSTER and KUBECONFIG: the clusters by label value, and the default one.

    A deployment names at least one cluster. DEFAULT_CLUSTER alone means one cluster of that EKS
    name in the function's region; a single entry in CLUSTERS is the default; KUBECONFIG (local
    use) applies to the default cluster.
    """
    clusters = _parse_clusters(env, region)
    default = env.optional("DEFAULT_CLUSTER")
    if default is not None and default not in clusters:
        if clusters:
            raise ConfigError(
                f"DEFAULT_CLUSTER={default!r} is not a key of CLUSTERS "
                f"(configured: {', '.join(sorted(clusters))})"
            )
        clusters[default] = ClusterConfig(name=default, eks_name=default, region=region)
    if not clusters:
        raise ConfigError(
            "DEFAULT_CLUSTER or CLUSTERS is required "
            '(CLUSTERS: JSON {"name": {"eks_name", "region", "kubeconfig"}})'
        )
    if default is None and len(clusters) == 1:
        default = next(iter(clusters))
    kubeconfig = env.optional("KUBECONFIG")
    if default is not None and kubeconfig and not clusters[default].kubeconfig:
        clusters[default] = dataclasses.replace(clusters[default], kubeconfig=kubeconfig)
    return clusters, default


def read_cluster_label(env: EnvReader) -> str:
    """CLUSTER_LABEL: the label naming the cluster on alerts and on the series PromQL queries read
    (default `cluster`); `none` for a workspace whose series carry no cluster label."""
    name = env.str("CLUSTER_LABEL", "cluster")
    if name.lower() != "none" and not LABEL_NAME.fullmatch(name):
        raise ConfigError(
            f"CLUSTER_LABEL={name!r} must be a Prometheus label name, or none for an unscoped workspace"
        )
    return name


def query_cluster_label(name: str) -> str | None:
    """The label PromQL queries are scoped by; None (unscoped) for `none`."""
    return None if name.lower() == "none" else name


def read_prometheus(env: EnvReader) -> tuple[str | None, str | None]:
    """PROMETHEUS_URL (without a trailing slash) and the region to SigV4-sign for, when it is AMP."""
    url = env.optional("PROMETHEUS_URL")
    if url is None:
        return None, env.optional("PROMETHEUS_SIGV4_REGION")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"PROMETHEUS_URL={url!r} must start with http:// or https://")
    region = env.optional("PROMETHEUS_SIGV4_REGION")
    if region is None and (match := _AMP_HOST.search(url)):
        region = match.group(1)
    return url.rstrip("/"), region


def _parse_clusters(env: EnvReader, region: str) -> dict[str, ClusterConfig]:
    clusters: dict[str, ClusterConfig] = {}
    for name, value in env.json_object("CLUSTERS").items():
        if not isinstance(value, dict):
            raise ConfigError(f"CLUSTERS[{name!r}] must be an object with eks_name, region, kubeconfig")
        unknown = set(value) - set(_CLUSTER_KEYS)
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
