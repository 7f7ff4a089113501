"""Settings of the notify_slack and notify_pagerduty functions, read once at cold start.

Secrets are never settings: the environment holds only the ARNs of Secrets Manager secrets.
Every invalid value fails with a message naming the variable and what it should be.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from netguard.config.env import EnvReader
from netguard.errors import ConfigError


class DedupMode(StrEnum):
    """How PagerDuty incidents are keyed: one per alert group, or one per alert fingerprint."""

    GROUP = "group"
    ALERT = "alert"


PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
DEFAULT_SEVERITY_MAP: Mapping[str, str] = {
    "critical": "critical",
    "page": "critical",
    "emergency": "critical",
    "fatal": "critical",
    "error": "error",
    "high": "error",
    "major": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "minor": "warning",
    "info": "info",
    "low": "info",
    "none": "info",
    "informational": "info",
}
"""Alert `severity` label (lower-cased) to PagerDuty severity; `PAGERDUTY_SEVERITY_MAP` extends it."""


class SlackMode(StrEnum):
    BOT = "bot"
    """A bot token: post, edit on resolve, reply in threads."""
    WEBHOOK = "webhook"
    """An incoming webhook: post only (to the webhook's own channel)."""


def _url(reader: EnvReader, name: str, default: str) -> str:
    value = reader.str(name, default).rstrip("/")
    if not value.startswith(("https://", "http://")):
        raise ConfigError(
            f"{name} must be an http(s) URL, e.g. {default or 'https://alertmanager.example.com'}"
        )
    return value


@dataclass(frozen=True)
class DeliverySettings:
    """What both notifiers share."""

    state_table: str
    """STATE_TABLE: the DynamoDB table (pk S, sk S, TTL attribute expires_at)."""
    legacy_state_reads: bool = True
    """LEGACY_STATE_READS: also read the items the key scheme before owner prefixes wrote (until their
    TTL has passed since the upgrade; `state.owned`). false once it has: the template then drops the
    read grant too."""
    cluster: str = ""
    """CLUSTER: shown when an event does not name its cluster."""
    alertmanager_url: str = ""
    """ALERTMANAGER_URL: base URL of an Alertmanager UI for silence links; none when empty."""
    secret_cache_seconds: int = 300
    """SECRET_CACHE_SECONDS: how long a warm container reuses a secret (rotation takes effect after)."""
    http_timeout_seconds: float = 10.0
    """NOTIFY_HTTP_TIMEOUT_SECONDS: one request's timeout."""
    max_attempts: int = 6
    """NOTIFY_MAX_ATTEMPTS: attempts per request, all within the function's remaining time."""
    state_ttl_days: int = 30
    """NOTIFY_STATE_TTL_DAYS: how long message references and dedup keys are kept."""
    idempotency_ttl_hours: int = 48
    """NOTIFY_IDEMPOTENCY_TTL_HOURS: how long a handled event id is remembered."""

    @classmethod
    def from_reader(cls, reader: EnvReader) -> DeliverySettings:
        alertmanager = reader.optional("ALERTMANAGER_URL") or ""
        if alertmanager:
            alertmanager = _url(reader, "ALERTMANAGER_URL", "")
        return cls(
            state_table=reader.str("STATE_TABLE"),
            legacy_state_reads=reader.bool("LEGACY_STATE_READS", True),
            cluster=reader.str("CLUSTER", ""),
            alertmanager_url=alertmanager,
            secret_cache_seconds=reader.int("SECRET_CACHE_SECONDS", 300, minimum=0, maximum=3600),
            http_timeout_seconds=reader.float("NOTIFY_HTTP_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            max_attempts=reader.int("NOTIFY_MAX_ATTEMPTS", 6, minimum=1, maximum=20),
            state_ttl_days=reader.int("NOTIFY_STATE_TTL_DAYS", 30, minimum=1, maximum=365),
            idempotency_ttl_hours=reader.int("NOTIFY_IDEMPOTENCY_TTL_HOURS", 48, minimum=1, maximum=24 * 30),
        )


@dataclass(frozen=True)
class SlackSettings:
    secret_arn: str
    """SLACK_SECRET_ARN: JSON {"token": "xoxb-..."} (bot) or {"webhook_url": "https://hooks..."} (webhook),
    or the bare value."""
    mode: SlackMode
    """SLACK_MODE: bot (default) or webhook."""
    channel: str
    """SLACK_CHANNEL: channel id (bot mode, required); ignored by webhooks."""
    api_url: str
    """SLACK_API_URL: Web API base, default https://slack.com/api (tests point it at a local receiver)."""
    delivery: DeliverySettings

    @property
    def secret_key(self) -> str:
        return "token" if self.mode is SlackMode.BOT else "webhook_url"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SlackSettings:
        reader = EnvReader(os.environ if environ is None else environ)
        mode = reader.enum("SLACK_MODE", SlackMode, SlackMode.BOT)
        channel = reader.str("SLACK_CHANNEL", "")
        if mode is SlackMode.BOT and not channel:
            raise ConfigError(
                "SLACK_CHANNEL is required when SLACK_MODE=bot (a channel id such as C0123456789)"
            )
        return cls(
            secret_arn=reader.str("SLACK_SECRET_ARN"),
            mode=mode,
            channel=channel,
            api_url=_url(reader, "SLACK_API_URL", "https://slack.com/api"),
            delivery=DeliverySettings.from_reader(reader),
        )


@dataclass(frozen=True)
class PagerDutySettings:
    secret_arn: str
    """PAGERDUTY_SECRET_ARN: JSON {"routing_key": "..."} or the bare integration key."""
    events_url: str
    """PAGERDUTY_EVENTS_URL: default https://events.pagerduty.com (paths /v2/enqueue, /v2/change/enqueue)."""
    dedup: DedupMode
    """PAGERDUTY_DEDUP: group (default, one incident per alert group) or alert (one per fingerprint)."""
    default_severity: str
    """PAGERDUTY_DEFAULT_SEVERITY: used for unknown severity labels (critical, error, warning, info)."""
    severity_map: Mapping[str, str] = field(default_factory=dict)
    """PAGERDUTY_SEVERITY_MAP: JSON object label -> PagerDuty severity, merged over the built-in map."""
    trigger_unparseable: bool = False
    """PAGERDUTY_TRIGGER_UNPARSEABLE: page for notifications netguard could not parse."""
    delivery: DeliverySettings = field(default_factory=lambda: DeliverySettings(state_table=""))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PagerDutySettings:
        reader = EnvReader(os.environ if environ is None else environ)
        default = reader.str("PAGERDUTY_DEFAULT_SEVERITY", "error").lower()
        allowed = ", ".join(PAGERDUTY_SEVERITIES)
        if default not in PAGERDUTY_SEVERITIES:
            raise ConfigError(f"PAGERDUTY_DEFAULT_SEVERITY={default!r} must be one of: {allowed}")
        mapping = dict(DEFAULT_SEVERITY_MAP)
        for label, value in reader.json_object("PAGERDUTY_SEVERITY_MAP").items():
            if not isinstance(value, str) or value.lower() not in PAGERDUTY_SEVERITIES:
                raise ConfigError(f"PAGERDUTY_SEVERITY_MAP[{label!r}]={value!r} must be one of: {allowed}")
            mapping[label.strip().lower()] = value.lower()
        return cls(
            secret_arn=reader.str("PAGERDUTY_SECRET_ARN"),
            events_url=_url(reader, "PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com"),
            dedup=reader.enum("PAGERDUTY_DEDUP", DedupMode, DedupMode.GROUP),
            default_severity=default,
            severity_map=mapping,
            trigger_unparseable=reader.bool("PAGERDUTY_TRIGGER_UNPARSEABLE", False),
            delivery=DeliverySettings.from_reader(reader),
        )
