"""Runs the enrichers over one alert group and assembles `EnrichedAlert`s.

Order per cluster: Kubernetes nodes and cluster DNS first (a node's providerID names its instance),
then one bulk EC2 look-up with the best key per alert, then instance types, then the optional drop
rates. Any failure becomes an `enrichment_errors` entry here, in one place; enrichers just raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from netguard.alerts.models import Alert, AlertGroup, AllowanceKind
from netguard.clients.errors import KubeUnavailable
from netguard.dns.models import ClusterDns
from netguard.enrich.diagnosis import diagnose
from netguard.enrich.ec2 import Ec2Enricher
from netguard.enrich.kubernetes import KubernetesEnricher
from netguard.enrich.models import (
    AlertTarget,
    DnsPodsOnNodes,
    DropRates,
    Ec2Lookup,
    EnrichmentResult,
    KubernetesView,
    NodeRecord,
)
from netguard.enrich.prometheus import COUNTERS, PrometheusEnricher, rate_for
from netguard.enrich.resolve import resolve_target
from netguard.enriched.models import DnsContext, EnrichedAlert, EnrichmentError, InstanceInfo

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ERROR_MESSAGE = 500


@dataclass
class _Run:
    """What one group's enrichment collects as it goes."""

    errors: list[EnrichmentError] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    last_failure: BaseException | None = None

    def attempt(self, source: str, action: Callable[[], T], *, fingerprint: str = "") -> T | None:
        """`action()`, or None with an `enrichment_errors` entry when it fails in any way."""
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - the one place a failed look-up is decided: record, go on
            self.last_failure = exc
            self.fail(getattr(exc, "source", source), _describe(exc), fingerprint=fingerprint)
            log.warning("enrichment step failed", extra={"source": source, "error": _describe(exc)})
            return None

    def fail(self, source: str, message: str, *, fingerprint: str = "") -> None:
        self.errors.append(
            EnrichmentError(source=source, message=message[:MAX_ERROR_MESSAGE], fingerprint=fingerprint)
        )

    def count(self, before: Mapping[str, int], after: Mapping[str, int], prefix: str = "") -> None:
        for key, value in after.items():
            delta = value - before.get(key, 0)
            if delta:
                name = f"{prefix}{key}"
                self.calls[name] = self.calls.get(name, 0) + delta


class Pipeline:
    def __init__(
        self,
        *,
        ec2_for_region: Callable[[str], Ec2Enricher],
        kube_for_cluster: Callable[[str], KubernetesEnricher],
        cluster_regions: Mapping[str, str],
        default_region: str,
        cluster_label: str = "cluster",
        default_cluster: str = "",
        prometheus: PrometheusEnricher | None = None,
    ) -> None:
        self._ec2_for_region = ec2_for_region
        self._kube_for_cluster = kube_for_cluster
        self._regions = dict(cluster_regions)
        self._default_region = default_region
        self._cluster_label = cluster_label
        self._default_cluster = default_cluster
        self._prometheus = prometheus

    def target(self, alert: Alert) -> AlertTarget:
        return resolve_target(
            alert.labels, cluster_label=self._cluster_label, default_cluster=self._default_cluster
        )

    def enrich(self, group: AlertGroup) -> EnrichmentResult:
        run = _Run()
        targets = [self.target(a) for a in group.alerts]
        by_cluster: dict[str, list[int]] = {}
        for index, (alert, target) in enumerate(zip(group.alerts, targets, strict=True)):
            by_cluster.setdefault(target.cluster, []).append(index)
            if not target.addressed:
                run.fail(
                    "resolve",
                    "the alert's labels name no instance, node, IP or instance id",
                    fingerprint=alert.fingerprint,
                )

        enriched: dict[int, EnrichedAlert] = {}
        for cluster, indexes in by_cluster.items():
            alerts = [group.alerts[i] for i in indexes]
            cluster_targets = [targets[i] for i in indexes]
            for index, item in zip(
                indexes, self._enrich_cluster(run, cluster, alerts, cluster_targets), strict=True
            ):
                enriched[index] = item
        return EnrichmentResult(
            alerts=tuple(enriched[i] for i in range(len(group.alerts))),
            errors=tuple(run.errors),
            calls=dict(run.calls),
        )

    # --- per cluster ---------------------------------------------------------------------------

    def _enrich_cluster(
        self, run: _Run, cluster: str, alerts: Sequence[Alert], targets: Sequence[AlertTarget]
    ) -> list[EnrichedAlert]:
        view, kube_ok = self._kubernetes(run, cluster, alerts, targets)
        nodes = [_find_node(view, t) for t in targets]
        lookup, ec2_ok = self._ec2(run, cluster, targets, nodes)
        rates = self._drop_rates(run, cluster, alerts)

        result: list[EnrichedAlert] = []
        for alert, target, node_by_labels in zip(alerts, targets, nodes, strict=True):
            instance = _find_instance(lookup, target, node_by_labels)
            node = node_by_labels
            if node is None and instance is not None:
                node = view.find_node(
                    instance_id=instance.instance_id,
                    ip=instance.private_ip,
                    dns_name=instance.private_dns_name,
                )
            if target.addressed and ec2_ok and instance is None:
                run.fail(
                    "ec2", f"no EC2 instance found for {target.describe()}", fingerprint=alert.fingerprint
                )
            if target.addressed and kube_ok and node is None:
                run.fail(
                    "kubernetes",
                    f"no node of cluster {cluster!r} matches {target.describe()}",
                    fingerprint=alert.fingerprint,
                )
            dns = _dns_context(view, node)
            counter = COUNTERS.get(alert.allowance, "")
            drop_rate = rate_for(rates, target, counter) if rates is not None and counter else None
            graph_url = ""
            if self._prometheus is not None and counter:
                graph_url = self._prometheus.graph_url(
                    target,
                    counter,
                    alertname=alert.name,
                    node=node.info.name if node else "",
                    instance_id=instance.instance_id if instance else "",
                )
            result.append(
                EnrichedAlert(
                    alert=alert,
                    cluster=cluster,
                    instance=instance,
                    node=node.info if node else None,
                    dns=dns,
                    drop_rate_per_second=drop_rate,
                    graph_url=graph_url,
                    diagnosis=diagnose(
                        alert,
                        instance=instance,
                        node=node.info if node else None,
                        dns=dns,
                        drop_rate=drop_rate,
                    ),
                )
            )
        return result

    def _kubernetes(
        self, run: _Run, cluster: str, alerts: Sequence[Alert], targets: Sequence[AlertTarget]
    ) -> tuple[KubernetesView, bool]:
        if cluster not in self._regions:
            run.fail(
                "config",
                f"cluster {cluster or '(none)'!r} is not configured (CLUSTERS / DEFAULT_CLUSTER); "
                "no Kubernetes context for its alerts",
            )
            return KubernetesView(), False
        enricher = run.attempt("eks", lambda: self._kube_for_cluster(cluster))
        if enricher is None:
            return KubernetesView(), False
        before = dict(enricher.calls)
        try:
            nodes = run.attempt("kubernetes", enricher.nodes)
            if nodes is None and isinstance(run.last_failure, KubeUnavailable):
                return KubernetesView(), False  # the API server is down: do not wait for it three more times
            dns: ClusterDns | None = run.attempt("kubernetes", enricher.cluster_dns)
            view = KubernetesView(nodes=nodes or (), dns=dns)
            linklocal_nodes = {
                record.info.name
                for alert, target in zip(alerts, targets, strict=True)
                if alert.allowance is AllowanceKind.LINKLOCAL
                and (record := _find_node(view, target)) is not None
            }
            found = run.attempt("kubernetes", lambda: enricher.dns_pods(linklocal_nodes)) or DnsPodsOnNodes()
            view = KubernetesView(
                nodes=view.nodes, dns=dns, bypass_pods=found.bypass, dns_servers=found.servers
            )
            return view, nodes is not None
        finally:
            run.count(before, enricher.calls, prefix=f"kubernetes[{cluster}] ")

    def _ec2(
        self, run: _Run, cluster: str, targets: Sequence[AlertTarget], nodes: Sequence[NodeRecord | None]
    ) -> tuple[Ec2Lookup, bool]:
        keys = choose_ec2_keys(
            [
                {
                    "instance-id": target.instance_id or (node.instance_id if node else ""),
                    "private-ip-address": target.ip or (node.info.internal_ip if node else ""),
                    "private-dns-name": target.dns_name,
                }
                for target, node in zip(targets, nodes, strict=True)
            ]
        )
        ids, ips, dns_names = keys["instance-id"], keys["private-ip-address"], keys["private-dns-name"]
        if not (ids or ips or dns_names):
            return Ec2Lookup(), False
        region = self._regions.get(cluster, self._default_region)
        enricher = run.attempt("ec2", lambda: self._ec2_for_region(region))
        if enricher is None:
            return Ec2Lookup(), False
        before = dict(enricher.calls)
        try:
            lookup = run.attempt(
                "ec2", lambda: enricher.instances(instance_ids=ids, ips=ips, dns_names=dns_names)
            )
            if lookup is None:
                return Ec2Lookup(), False
            return run.attempt("ec2-instance-types", lambda: enricher.with_networks(lookup)) or lookup, True
        finally:
            run.count(before, enricher.calls)

    def _drop_rates(self, run: _Run, cluster: str, alerts: Sequence[Alert]) -> DropRates | None:
        prometheus = self._prometheus
        if prometheus is None or cluster not in self._regions:
            return None  # queries run only for configured clusters
        wanted = {(cluster, COUNTERS[a.allowance]) for a in alerts if a.allowance in COUNTERS}
        if not wanted:
            return None
        before = dict(prometheus.calls)
        try:
            return run.attempt("prometheus", lambda: prometheus.drop_rates(wanted))
        finally:
            run.count(before, prometheus.calls)


def choose_ec2_keys(candidates: Sequence[Mapping[str, str]]) -> dict[str, set[str]]:
    """One look-up key per alert, from as few kinds of key as possible.

    Each kind is a separate DescribeInstances filter (filters are ANDed), so mixing kinds costs extra
    requests: n alerts that all carry an IP cost ceil(n/200), not ceil(a/200) + ceil(b/200). The kind
    that covers the most alerts is used first; an alert without it falls back to the next.
    """
    kinds = ("private-ip-address", "instance-id", "private-dns-name")
    coverage = {kind: sum(1 for c in candidates if c.get(kind)) for kind in kinds}
    order = sorted(kinds, key=lambda k: (-coverage[k], kinds.index(k)))
    chosen: dict[str, set[str]] = {kind: set() for kind in kinds}
    for candidate in candidates:
        kind = next((k for k in order if candidate.get(k)), None)
        if kind is not None:
            chosen[kind].add(candidate[kind])
    return chosen


def _find_node(view: KubernetesView, target: AlertTarget) -> NodeRecord | None:
    return view.find_node(
        name=target.node_name, ip=target.ip, instance_id=target.instance_id, dns_name=target.dns_name
    )


def _find_instance(lookup: Ec2Lookup, target: AlertTarget, node: NodeRecord | None) -> InstanceInfo | None:
    return lookup.find(
        instance_id=target.instance_id or (node.instance_id if node else ""),
        ip=target.ip or (node.info.internal_ip if node else ""),
        dns_name=target.dns_name or (node.info.name if node else ""),
    )


def _dns_context(view: KubernetesView, node: NodeRecord | None) -> DnsContext | None:
    dns = view.dns
    if dns is None:
        return None
    name = node.info.name if node else ""
    return DnsContext(
        coredns_replicas=dns.coredns_desired,
        coredns_ready=dns.coredns_ready,
        coredns_distinct_nodes=len(dns.distinct_nodes()),
        coredns_pods_on_node=tuple(p.name for p in dns.pods_on(name)),
        replica_owner=dns.owner.kind.value,
        nodelocal_dns_enabled=dns.nodelocal_enabled,
        kube_proxy_mode=dns.kube_proxy_mode,
        dns_bypass_pods=view.bypass_pods.get(name, ()),
        dns_servers_on_node=view.dns_servers.get(name, ()),
    )


def _describe(exc: BaseException) -> str:
    """A one-line reason: the enricher's own message, else the exception type and text."""
    detail = getattr(exc, "detail", None)
    if isinstance(detail, str):
        return detail
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
