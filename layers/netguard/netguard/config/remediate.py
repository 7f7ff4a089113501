"""Settings of the remediation function (and of `netguard remediation`), read once from the environment.

Every invalid value fails at cold start with the variable's name and what it should be.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from netguard.config.clusters import (
    LABEL_NAME,
    ClusterConfig,
    query_cluster_label,
    read_cluster_label,
    read_clusters,
    read_prometheus,
    read_region,
)
from netguard.config.durations import parse_duration
from netguard.config.env import EnvReader
from netguard.config.errors import UnknownCluster
from netguard.errors import ConfigError

SQS_MAX_DELAY_SECONDS = 900
BOUNDS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "MAX_STEPS": (1, 20),
        # 2..100: deploy/rbac's admission policy keeps CoreDNS between a floor of 2 and a ceiling of
        # 100 replicas, so a cap outside that range could never be applied.
        "COREDNS_MAX_REPLICAS": (2, 100),
        "COREDNS_STEP": (1, 5),
        "PERSISTENCE_SECONDS": (0, 86400),
        "COOLDOWN_SECONDS": (0, 7 * 86400),
        "VERIFY_SECONDS": (1, 86400),
        "QUIET_SECONDS_BEFORE_REVERT": (0, 30 * 86400),
        "MAX_VERIFICATIONS": (1, 100),
    }
)
"""Inclusive bounds of the whole-number settings; template.yaml's parameters carry the same (a unit
test compares them), so a value the stack accepts never fails the function's cold start."""
HEADROOM_BOUNDS = (0.1, 1.0)
SHIPPED_REMEDIATION_RULES: Mapping[str, float] = MappingProxyType(
    {"LinklocalAllowanceExceededPersisting": 300.0}
)
"""amp/rules.yaml's persisting linklocal rule and its `for: 5m` (a unit test compares them with the
shipped file): the only rule remediation acts for unless REMEDIATION_RULES names others."""
SHIPPED_REMEDIATION_LABEL = ("netguard_remediate", "dns")
"""The label the shipped rule sets; an alert must carry it to be of a remediation rule."""


@dataclass(frozen=True)
class RemediationRules:
    """The operator's rules remediation acts for: alert name -> its `for:` in seconds, and the
    label (name, value) every such alert must carry. Nothing an alert says about itself adds to it."""

    for_seconds: Mapping[str, float] = field(default_factory=lambda: SHIPPED_REMEDIATION_RULES)
    label: tuple[str, str] = SHIPPED_REMEDIATION_LABEL

    def matches(self, alertname: str, labels: Mapping[str, str]) -> bool:
        name, value = self.label
        return alertname in self.for_seconds and labels.get(name) == value


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
    allowance_pps: float = 1024.0
    """The link-local allowance per network interface (fixed by EC2)."""
    headroom: float = 0.8
    """Aim every CoreDNS node at `allowance_pps * headroom` packets/s after an action."""
    max_steps: int = 4
    """Changes per incident before the policy gives up and hands over to people."""


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
    spread_mode: Mode = Mode.ENFORCE
    """SPREAD_MODE: evicting CoreDNS replicas off a shared node and making the spread durable."""
    linklocal_headroom: float = 0.8
    """LINKLOCAL_HEADROOM: aim every CoreDNS node at this fraction of the 1024 packets/s allowance."""
    max_steps: int = 4
    """MAX_STEPS: changes per incident before remediation gives up and hands over to people."""
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
    rules: RemediationRules = field(default_factory=RemediationRules)
    """REMEDIATION_RULES (JSON alert name -> `for:`) and REMEDIATION_LABEL (`name=value`): the only
    alerts remediation acts for, and their rules' `for:` (never taken from the alert)."""
    cluster_label: str | None = "cluster"
    """CLUSTER_LABEL: the series label naming the cluster; every PromQL query carries it as a matcher.
    `none` (a workspace whose series carry no cluster label) queries unscoped."""
    lock_wait_seconds: float = 20.0
    legacy_state_reads: bool = True
    """LEGACY_STATE_READS: also read the items the key scheme before owner prefixes wrote (until their
    TTL has passed since the upgrade; `state.owned`). false once it has: the template then drops the
    read grant too."""

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
            headroom=self.linklocal_headroom,
            max_steps=self.max_steps,
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
            legacy_state_reads=env.bool("LEGACY_STATE_READS", True),
            region=region,
            clusters=MappingProxyType(clusters),
            default_cluster=default,
            coredns_mode=env.enum("COREDNS_MODE", Mode, Mode.ENFORCE),
            nodelocal_mode=env.enum("NODELOCAL_MODE", Mode, Mode.DRY_RUN),
            spread_mode=env.enum("SPREAD_MODE", Mode, Mode.ENFORCE),
            linklocal_headroom=_headroom(env),
            max_steps=_bounded(env, "MAX_STEPS", 4),
            coredns_max_replicas=_bounded(env, "COREDNS_MAX_REPLICAS", 10),
            coredns_step=_bounded(env, "COREDNS_STEP", 2),
            persistence_seconds=_bounded(env, "PERSISTENCE_SECONDS", 300),
            cooldown_seconds=_bounded(env, "COOLDOWN_SECONDS", 600),
            verify_seconds=_bounded(env, "VERIFY_SECONDS", 300),
            quiet_seconds_before_revert=_bounded(env, "QUIET_SECONDS_BEFORE_REVERT", 3600),
            revert_coredns=env.bool("REVERT_COREDNS", False),
            revert_nodelocal=env.bool("REVERT_NODELOCAL", False),
            max_verifications=_bounded(env, "MAX_VERIFICATIONS", 6),
            prometheus_url=prometheus_url,
            prometheus_sigv4_region=sigv4_region,
            rules=_rules(env),
            cluster_label=query_cluster_label(read_cluster_label(env)),
            lock_wait_seconds=env.float("LOCK_WAIT_SECONDS", 20.0, minimum=0.0),
        )


def _bounded(env: EnvReader, name: str, default: int) -> int:
    low, high = BOUNDS[name]
    return env.int(name, default, minimum=low, maximum=high)


def _headroom(env: EnvReader) -> float:
    value = env.float("LINKLOCAL_HEADROOM", 0.8, minimum=0.0)
    if not HEADROOM_BOUNDS[0] <= value <= HEADROOM_BOUNDS[1]:
        raise ConfigError(
            f"LINKLOCAL_HEADROOM={value} must be a fraction of the 1024 packets/s link-local allowance"
            " between 0.1 and 1.0 (0.8, the default, aims every CoreDNS node at ~819 packets/s)"
        )
    return value


def _rules(env: EnvReader) -> RemediationRules:
    if env.optional("PERSISTING_RULES") is not None:
        raise ConfigError(
            "PERSISTING_RULES is replaced by REMEDIATION_RULES, which lists the only rules remediation"
            ' acts for (JSON {"AlertName": "5m"}); rename it after checking that list'
        )
    raw = env.json_object("REMEDIATION_RULES")
    rules = dict(SHIPPED_REMEDIATION_RULES) if not raw else {}
    for name, value in raw.items():
        seconds = parse_duration(str(value)) if isinstance(value, str | int) else None
        if seconds is None or isinstance(value, bool):
            raise ConfigError(f"REMEDIATION_RULES[{name!r}]={value!r} is not a duration like 5m or 300")
        rules[name] = seconds
    label = env.str("REMEDIATION_LABEL", "=".join(SHIPPED_REMEDIATION_LABEL))
    key, sep, value = label.partition("=")
    if not sep or not LABEL_NAME.fullmatch(key.strip()) or not value.strip():
        raise ConfigError(f"REMEDIATION_LABEL={label!r} must be name=value, like netguard_remediate=dns")
    return RemediationRules(for_seconds=MappingProxyType(rules), label=(key.strip(), value.strip()))
