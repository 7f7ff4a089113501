"""What the notifiers work with: a bounded digest of an alert group, message references, outcomes.

A `GroupDigest` summarises any number of alerts in bounded space (counts plus the first rows), can be
merged with the digest of another part of the same group, and round-trips through the state table.
Slack and PagerDuty formatting read only digests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from netguard.alerts.models import frozen_map


class Receiver(StrEnum):
    SLACK = "slack"
    PAGERDUTY = "pagerduty"


class Outcome(StrEnum):
    SENT = "sent"
    """A new message, trigger, resolve or change event went out."""
    UPDATED = "updated"
    """An existing Slack message was edited (a later part, a repeat notification)."""
    DUPLICATE = "duplicate"
    """Already delivered for this group and status (or this very event): nothing sent."""
    SKIPPED = "skipped"
    """Deliberately not sent (e.g. unparseable events to PagerDuty when not configured)."""
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    """One thing a notifier did (or decided not to do) for an event."""

    receiver: Receiver
    outcome: Outcome
    action: str
    """post, update, reply, trigger, resolve, change, fold."""
    detail: str = ""


@dataclass(frozen=True)
class SlackRef:
    """Where a group's Slack message lives (bot mode), as `chat.postMessage` returned it."""

    channel: str
    ts: str
    permalink: str = ""


@dataclass(frozen=True)
class AlertRow:
    """One alert, as a line of a message."""

    fingerprint: str
    alertname: str
    kind: str
    status: str
    node: str = ""
    instance_id: str = ""
    instance_type: str = ""
    zone: str = ""
    drop_rate: float | None = None
    graph_url: str = ""
    summary: str = ""
    ambiguous: bool = False
    """The intake could not read this alert for sure (`Alert.ambiguity`)."""


@dataclass(frozen=True)
class DnsFacts:
    """Cluster DNS facts worth showing next to a DNS-throttling alert."""

    coredns_replicas: int | None = None
    coredns_ready: int | None = None
    coredns_distinct_nodes: int | None = None
    replica_owner: str = ""
    nodelocal_dns_enabled: bool | None = None
    kube_proxy_mode: str = ""
    bypass_pods: int = 0
    bypass_examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupDigest:
    """A bounded summary of (a part of) an alert group; counts stay exact, lists are capped."""

    group_id: str
    cluster: str
    alertname: str
    severity: str
    status: str
    summary: str = ""
    description: str = ""
    total: int = 0
    firing: int = 0
    resolved: int = 0
    kinds: Mapping[str, int] = field(default_factory=dict)
    nodes: Mapping[str, int] = field(default_factory=dict)
    """Alerts per node, capped to the busiest nodes; `node_count` is the number seen."""
    node_count: int = 0
    instance_types: Mapping[str, int] = field(default_factory=dict)
    zones: Mapping[str, int] = field(default_factory=dict)
    rows: tuple[AlertRow, ...] = ()
    diagnoses: Mapping[str, int] = field(default_factory=dict)
    diagnosis_details: tuple[str, ...] = ()
    remediable: bool = False
    dns: DnsFacts | None = None
    max_drop_rate: float | None = None
    graph_url: str = ""
    runbook_url: str = ""
    generator_url: str = ""
    group_labels: Mapping[str, str] = field(default_factory=frozen_map)
    enrichment_errors: int = 0
    enrichment_error_examples: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    truncated: bool = False
    ambiguous: int = 0
    """Alerts the intake could not read for sure (shown with a warning, never remediated)."""
    ambiguity_example: str = ""
    """One of their reasons, in plain words."""
    parts: tuple[int, ...] = (1,)
    part_count: int = 1
    started_at: str = ""


@dataclass(frozen=True)
class Links:
    """Links a notification carries, each optional."""

    graph: str = ""
    runbook: str = ""
    silence: str = ""
    source: str = ""
    slack_thread: str = ""

    def as_pairs(self) -> list[tuple[str, str]]:
        named = [
            ("Graph", self.graph),
            ("Runbook", self.runbook),
            ("Silence", self.silence),
            ("Source", self.source),
            ("Slack thread", self.slack_thread),
        ]
        return [(text, href) for text, href in named if href]


Json = dict[str, Any]
