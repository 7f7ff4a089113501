"""Settings of the remediation function (and of `netguard remediation`), read once from the environment.

Every invalid value fails at cold start with the variable's name and what it should be.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from netguard.config.clusters import ClusterConfig, read_clusters, read_prometheus, read_region
from netguard.config.durations import parse_duration
from netguard.config.env import EnvReader
from netguard.config.errors import UnknownCluster
from netguard.errors import ConfigError

SQS_MAX_DELAY_SECONDS = 900
SHIPPED_PERSISTING_RULES: Mapping[str, float] = MappingProxyType(
    {"LinklocalAllowanceExceededPersisting": 300.0}
)
"""amp/rules.yaml's persisting rule and its `for: 5m`; PERSISTING_RULES adds to or overrides it."""


class Mode(StrEnum):
    """Per-action remediation mode (COREDNS_MODE, NODELOCAL_MODE)."""

    ENFORCE = "enforce"
    DRY_RUN = "dry-run"
    OFF = "off"


@dataclass(frozen=True)
class PolicySettings:
    """What the policy needs from configuration (built by `Settings.policy`)."""

    max_replicas: int = 10
    step: int = 2
    verify_seconds: int = 300
    quiet_seconds_before_revert: int = 3600
    revert_coredns: bool = False
    revert_nodelocal: bool = False
    max_verifications: int = 6
    """Follow-up checks without a resolution before the policy hands over to people."""


@dataclass(frozen=True)
class Settings:
    enriched_topic_arn: str
    """ENRICHED_TOPIC_ARN: where every decision is published as a remediation event."""
    state_table: str
    """STATE_TABLE: the DynamoDB table for lock, cooldown, history, audit, idempotency."""
    followup_queue_url: str
    """FOLLOWUP_QUEUE_URL: the SQS queue whose delayed messages re-invoke the function to verify."""
    kill_switch_parameter: str
    """KILL_SWITCH_PARAMETER: the SSM parameter read at every invocation."""
    region: str
    clusters: Mapping[str, ClusterConfig]
    default_cluster: str | None = None
    coredns_mode: Mode = Mode.ENFORCE
    nodelocal_mode: Mode = Mode.DRY_RUN
    coredns_max_replicas: int = 10
    coredns_step: int = 2
    persistence_seconds: int = 300
    cooldown_seconds: int = 600
    verify_seconds: int = 300
    quiet_seconds_before_revert: int = 3600
    revert_coredns: bool = False
    revert_nodelocal: bool = False
    max_verifications: int = 6
    prometheus_url: str | None = None
    """PROMETHEUS_URL: optional query endpoint (AMP workspace URL or a local Prometheus) for fresh checks."""
    prometheus_sigv4_region: str | None = None
    """PROMETHEUS_SIGV4_REGION: region to sign AMP queries for; derived from an AMP URL when unset
    (None: a plain Prometheus, queried unsigned)."""
    persisting_rules: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    """PERSISTING_RULES: alert name -> its rule's `for:` when the rule carries no `for` annotation."""
    lock_wait_seconds: float = 20.0

    @property
    def policy(self) -> PolicySettings:
        return PolicySettings(
            max_replicas=self.coredns_max_replicas,
            step=self.coredns_step,
            verify_seconds=self.verify_seconds,
            quiet_seconds_before_revert=self.quiet_seconds_before_revert,
            revert_coredns=self.revert_coredns,
            revert_nodelocal=self.revert_nodelocal,
            max_verifications=self.max_verifications,
        )

    def cluster(self, name: str) -> ClusterConfig:
        """The configuration of `name` (an empty name means DEFAULT_CLUSTER)."""
        key = name or self.default_cluster or ""
        if key not in self.clusters:
            known = ", ".join(sorted(self.clusters)) or "none"
            raise UnknownCluster(f"cluster {key or '(none)'!r} is not in CLUSTERS (configured: {known})")
        return self.clusters[key]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = EnvReader(os.environ if environ is None else environ)
        region = read_region(env)
        clusters, default = read_clusters(env, region)
        prometheus_url, sigv4_region = read_prometheus(env)
        return cls(
            enriched_topic_arn=env.str("ENRICHED_TOPIC_ARN"),
            state_table=env.str("STATE_TABLE"),
            followup_queue_url=env.str("FOLLOWUP_QUEUE_URL"),
            kill_switch_parameter=env.str("KILL_SWITCH_PARAMETER"),
            region=region,
            clusters=MappingProxyType(clusters),
            default_cluster=default,
            coredns_mode=env.enum("COREDNS_MODE", Mode, Mode.ENFORCE),
            nodelocal_mode=env.enum("NODELOCAL_MODE", Mode, Mode.DRY_RUN),
            coredns_max_replicas=env.int("COREDNS_MAX_REPLICAS", 10, minimum=1, maximum=100),
            coredns_step=env.int("COREDNS_STEP", 2, minimum=1, maximum=5),
            persistence_seconds=env.int("PERSISTENCE_SECONDS", 300, minimum=0, maximum=86400),
            cooldown_seconds=env.int("COOLDOWN_SECONDS", 600, minimum=0, maximum=7 * 86400),
            verify_seconds=env.int("VERIFY_SECONDS", 300, minimum=1, maximum=86400),
            quiet_seconds_before_revert=env.int(
                "QUIET_SECONDS_BEFORE_REVERT", 3600, minimum=0, maximum=30 * 86400
            ),
            revert_coredns=env.bool("REVERT_COREDNS", False),
            revert_nodelocal=env.bool("REVERT_NODELOCAL", False),
            max_verifications=env.int("MAX_VERIFICATIONS", 6, minimum=1, maximum=100),
            prometheus_url=prometheus_url,
            prometheus_sigv4_region=sigv4_region,
            persisting_rules=MappingProxyType(_persisting_rules(env)),
            lock_wait_seconds=env.float("LOCK_WAIT_SECONDS", 20.0, minimum=0.0),
        )


def _persisting_rules(env: EnvReader) -> dict[str, float]:
    raw = env.json_object("PERSISTING_RULES")
    rules = dict(SHIPPED_PERSISTING_RULES)
    for name, value in raw.items():
        seconds = parse_duration(str(value))
        if seconds is None:
            raise ConfigError(f"PERSISTING_RULES[{name!r}]={value!r} is not a duration like 5m or 300")
        rules[name] = seconds
    return rules
