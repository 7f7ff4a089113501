"""Builds the remediation service from `Settings` with real AWS clients (Lambda and the CLI).

Everything is injected into `RemediationService`; this module is the one place that chooses the
production adapters (DynamoDB, SNS, SQS, SSM, the cluster connector, the optional query endpoint).
"""

from __future__ import annotations

from typing import Any

from netguard.clients import aws
from netguard.clients.prometheus import PrometheusClient
from netguard.config.remediate import Settings
from netguard.remediate.cluster import Connector, connect_cluster
from netguard.remediate.killswitch import KillSwitch
from netguard.remediate.metrics import drop_rates, forward_rates
from netguard.remediate.service import RemediationService, SnsPublisher, SqsFollowUps
from netguard.state import DynamoStore, OwnedStore, Owner


def build_service(
    settings: Settings, *, connect: Connector | None = None, audit_logger: Any | None = None
) -> RemediationService:
    region = settings.region
    fresh = forwards = None
    if settings.prometheus_url:
        client = PrometheusClient(settings.prometheus_url, sigv4_region=settings.prometheus_sigv4_region)
        label = settings.cluster_label
        fresh = drop_rates(client.query, cluster_label=label)
        forwards = forward_rates(client.query, cluster_label=label)
    return RemediationService(
        settings,
        store=OwnedStore.of(
            DynamoStore(aws.client("dynamodb", region), settings.state_table),
            Owner.REMEDIATE,
            read_legacy=settings.legacy_state_reads,
        ),
        publisher=SnsPublisher(aws.client("sns", region), settings.enriched_topic_arn),
        followups=SqsFollowUps(aws.client("sqs", region), settings.followup_queue_url),
        kill_switch=KillSwitch(
            aws.client("ssm", region), settings.kill_switch_parameter, clusters=settings.clusters
        ),
        connect=connect or connect_cluster,
        fresh=fresh,
        forwards=forwards,
        audit_logger=audit_logger,
    )
