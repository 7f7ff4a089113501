"""Builds the enrichment processor from `Settings` with real clients (boto3, EKS, Prometheus).

Called once per warm container by `functions/enrich/app.py`, and by the benchmark. Enrichers are
kept per region / cluster so their caches (instance types; the EKS endpoint and token inside
`netguard.clients.eks`) live across invocations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netguard.alerts import parse_message
from netguard.alerts.models import ParseOutcome, SnsMessage
from netguard.clients import aws, eks
from netguard.clients.prometheus import PrometheusClient
from netguard.config.enrich import Settings
from netguard.enrich.cache import TtlCache
from netguard.enrich.ec2 import Ec2Enricher
from netguard.enrich.kubernetes import KubernetesEnricher
from netguard.enrich.models import TypeNetwork
from netguard.enrich.pipeline import Pipeline
from netguard.enrich.process import MessageProcessor
from netguard.enrich.prometheus import PrometheusEnricher
from netguard.enrich.publish import RawArchive, SnsPublisher
from netguard.state import DynamoStore, OwnedStore, Owner


def build_pipeline(settings: Settings, *, client: Callable[..., Any] = aws.client) -> Pipeline:
    type_cache: TtlCache[str, TypeNetwork] = TtlCache(settings.instance_type_cache_seconds)
    ec2_enrichers: dict[str, Ec2Enricher] = {}

    def ec2_for_region(region: str) -> Ec2Enricher:
        if region not in ec2_enrichers:
            ec2_enrichers[region] = Ec2Enricher(client("ec2", region), type_cache=type_cache)
        return ec2_enrichers[region]

    def kube_for_cluster(name: str) -> KubernetesEnricher:
        access = settings.clusters[name].access
        return KubernetesEnricher(
            eks.kube_client(access),
            namespace=settings.dns_namespace,
            per_node_limit=settings.kube_per_node_pod_lists,
        )

    prometheus = None
    if settings.prometheus_url:
        prometheus = PrometheusEnricher(
            PrometheusClient(settings.prometheus_url, sigv4_region=settings.prometheus_sigv4_region),
            query_template=settings.drop_rate_query,
            graph_url_template=settings.graph_url_template,
            cluster_label=settings.query_cluster_label,
        )
    return Pipeline(
        ec2_for_region=ec2_for_region,
        kube_for_cluster=kube_for_cluster,
        cluster_regions={name: c.region for name, c in settings.clusters.items()},
        default_region=settings.region,
        cluster_label=settings.cluster_label,
        default_cluster=settings.default_cluster,
        prometheus=prometheus,
    )


def build_processor(
    settings: Settings,
    *,
    parse: Callable[[SnsMessage], ParseOutcome] = parse_message,
    client: Callable[..., Any] = aws.client,
) -> MessageProcessor:
    return MessageProcessor(
        parse=parse,
        pipeline=build_pipeline(settings, client=client),
        publisher=SnsPublisher(client("sns", settings.region), settings.enriched_topic_arn),
        store=OwnedStore.of(
            DynamoStore(client("dynamodb", settings.region), settings.state_table),
            Owner.ENRICH,
            read_legacy=settings.legacy_state_reads,
        ),
        archive=RawArchive(client("s3", settings.region), settings.raw_bucket)
        if settings.raw_bucket
        else None,
        default_cluster=settings.default_cluster,
        idempotency_ttl=settings.idempotency_ttl_seconds,
    )
