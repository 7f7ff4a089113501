"""The normalized view of an alert, whatever format Alertmanager used to send it.

Parsers in this folder produce these; everything downstream (enrichment, notification,
remediation) reads only these. Pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class Status(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AllowanceKind(StrEnum):
    """Which EC2 network allowance an alert is about (from the ENA ethtool counters)."""

    LINKLOCAL = "linklocal"
    PPS = "pps"
    BW_IN = "bw_in"
    BW_OUT = "bw_out"
    CONNTRACK = "conntrack"
    CONNTRACK_AVAILABLE = "conntrack_available"
    UNKNOWN = "unknown"


class SourceFormat(StrEnum):
    """The message format a group was parsed from (the rows of DESIGN.md's input-format table)."""

    DEFAULT_TEXT = "alertmanager_text"
    AMP_JSON = "amp_json"
    KEY_VALUE = "key_value"
    JSON = "json"


def frozen_map(values: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """A read-only copy, so a frozen dataclass really is immutable."""
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class Alert:
    status: Status
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None
    """Timezone-aware; None when the message did not carry it."""
    ends_at: datetime | None
    """Timezone-aware; None for Alertmanager's zero time (still firing) or when not carried."""
    generator_url: str
    fingerprint: str
    """Alertmanager's fingerprint of `labels` (16 hex digits)."""
    allowance: AllowanceKind
    ambiguity: str = ""
    """Why this reading of the message may not be the one Alertmanager meant (empty when it is sure).
    An ambiguous alert is still enriched and notified, and is never a reason to remediate."""

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def ambiguous(self) -> bool:
        return bool(self.ambiguity)


@dataclass(frozen=True)
class AlertGroup:
    receiver: str
    status: Status
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    alerts: tuple[Alert, ...]
    source_format: SourceFormat
    truncated: bool = False
    """AMP cut the message (over 256 KB); `alerts` holds every complete alert before the cut."""
    warnings: tuple[str, ...] = ()
    """What the parser had to guess or repair, in plain words."""
    external_url: str = ""
    group_key: str = ""
    """Alertmanager's own group key when the message carried it."""
    reported_count: int | None = None
    """How many alerts the Subject counts (`[FIRING:N]`) when the message itself carries fewer: a
    `key: value` template stands one alert for the whole group. None when `alerts` is the whole group."""

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status is Status.FIRING)

    @property
    def resolved(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.status is Status.RESOLVED)


@dataclass(frozen=True)
class SnsMessage:
    """One SNS notification as Lambda or an HTTP subscription receives it."""

    message: str
    subject: str = ""
    attributes: Mapping[str, str] = field(default_factory=frozen_map)
    message_id: str = ""
    topic_arn: str = ""
    timestamp: str = ""


@dataclass(frozen=True)
class Unparseable:
    """A message the intake could not understand; kept and reported, never dropped."""

    reason: str
    message: SnsMessage


ParseOutcome = list[AlertGroup] | Unparseable


@dataclass(frozen=True)
class SubjectInfo:
    """What an Alertmanager default subject (`[FIRING:2] group values (other common values)`) says."""

    status: Status | None
    """None when the subject is not in the default form."""
    firing_count: int | None
    """N from `[FIRING:N]`; None for resolved groups or when not in the default form."""
    group_values: tuple[str, ...] = ()
    """Group label values in label-name order, split on spaces (a value holding a space splits too)."""
    other_values: tuple[str, ...] = ()
    """The parenthesised values of common labels that are not group labels."""
    cut: bool = False
    """The subject looks cut at SNS's 100 characters, so its last value may be partial."""
    raw: str = ""

    @property
    def values(self) -> tuple[str, ...]:
        return self.group_values + self.other_values
