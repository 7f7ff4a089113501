"""Enrichment: every alert gets its EC2 instance, Kubernetes node and cluster DNS context, in bulk,
and is published as an enriched event. Called by `functions/enrich`.
"""

from netguard.clients.errors import PrometheusError
from netguard.clients.prometheus import PrometheusClient
from netguard.enrich.diagnosis import diagnose
from netguard.enrich.ec2 import MAX_FILTER_VALUES, Ec2Enricher
from netguard.enrich.errors import EnrichError, EventTooLarge, PublishError
from netguard.enrich.kubernetes import KubernetesEnricher, bypasses_cluster_dns
from netguard.enrich.models import AlertTarget, Ec2Lookup, EnrichmentResult, KubernetesView, NodeRecord
from netguard.enrich.pipeline import Pipeline
from netguard.enrich.process import IDEMPOTENCY_PK, MessageProcessor, MessageReport
from netguard.enrich.prometheus import PrometheusEnricher
from netguard.enrich.publish import SNS_MAX_BYTES, RawArchive, SnsPublisher, build_events, message_size
from netguard.enrich.resolve import resolve_target

__all__ = [
    "IDEMPOTENCY_PK",
    "MAX_FILTER_VALUES",
    "SNS_MAX_BYTES",
    "AlertTarget",
    "Ec2Enricher",
    "Ec2Lookup",
    "EnrichError",
    "EnrichmentResult",
    "EventTooLarge",
    "KubernetesEnricher",
    "KubernetesView",
    "MessageProcessor",
    "MessageReport",
    "NodeRecord",
    "Pipeline",
    "PrometheusClient",
    "PrometheusEnricher",
    "PrometheusError",
    "PublishError",
    "RawArchive",
    "SnsPublisher",
    "build_events",
    "bypasses_cluster_dns",
    "diagnose",
    "message_size",
    "resolve_target",
]
