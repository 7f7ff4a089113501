"""Turning what a parser read into `Alert`s and an `AlertGroup`, the same way for every format.

Fingerprints are always computed from the labels (a carried fingerprint that differs becomes a
warning); common labels and annotations are derived when the format does not carry them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from netguard.alerts.allowance import allowance_kind
from netguard.alerts.fingerprint import fingerprint, fingerprints
from netguard.alerts.models import Alert, AlertGroup, SourceFormat, Status, SubjectInfo, frozen_map


@dataclass
class RawAlert:
    """An alert as a parser read it, before fingerprinting and classification."""

    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""
    fingerprint: str = ""
    """The fingerprint the message carried, if any."""


def build_alert(raw: RawAlert, warnings: list[str], computed: str | None = None) -> Alert:
    """`computed`: the labels' fingerprint when the caller hashed a whole group at once."""
    if computed is None:
        computed = fingerprint(raw.labels)
    if raw.fingerprint and raw.fingerprint != computed:
        name = raw.labels.get("alertname", "?")
        warnings.append(
            f"alert {name}: message carries fingerprint {raw.fingerprint}, labels give {computed} (used)"
        )
    return Alert(
        status=raw.status,
        labels=frozen_map(raw.labels),
        annotations=frozen_map(raw.annotations),
        starts_at=raw.starts_at,
        ends_at=raw.ends_at,
        generator_url=raw.generator_url,
        fingerprint=computed,
        allowance=allowance_kind(raw.labels, generator_url=raw.generator_url),
    )


def common(maps: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The pairs the first map shares with every other (Alertmanager's CommonLabels / CommonAnnotations)."""
    iterator = iter(maps)
    first = next(iterator, None)
    if first is None:
        return {}
    shared = dict(first)
    for other in iterator:
        # As Alertmanager computes it: Go's map lookup gives "" for a missing key, so an empty
        # value of the first alert stays "common" even where other alerts lack the name.
        shared = {k: v for k, v in shared.items() if other.get(k, "") == v}
    return shared


def group_labels_from_subject(
    common_labels: Mapping[str, str], subject: SubjectInfo | None
) -> dict[str, str]:
    """The common labels whose values, in label-name order, are the subject's group values."""
    if subject is None or subject.status is None or not subject.group_values:
        return {}
    wanted = " ".join(subject.group_values)
    chosen: dict[str, str] = {}
    parts: list[str] = []
    for name in sorted(common_labels):
        value = common_labels[name]
        candidate = " ".join([*parts, value]) if value else " ".join(parts)
        if wanted == candidate or wanted.startswith(candidate + " "):
            chosen[name] = value
            parts = candidate.split(" ") if candidate else []
            if wanted == candidate:
                break
    return chosen if " ".join(parts) == wanted or subject.cut else {}


def build_group(
    raws: Sequence[RawAlert],
    *,
    source_format: SourceFormat,
    warnings: list[str],
    status: Status | None = None,
    receiver: str = "",
    group_labels: Mapping[str, str] | None = None,
    common_labels: Mapping[str, str] | None = None,
    common_annotations: Mapping[str, str] | None = None,
    truncated: bool = False,
    subject: SubjectInfo | None = None,
    external_url: str = "",
    group_key: str = "",
    reported_count: int | None = None,
) -> AlertGroup:
    computed = fingerprints([raw.labels for raw in raws])
    alerts = tuple(build_alert(raw, warnings, value) for raw, value in zip(raws, computed, strict=True))
    if status is None:
        if subject is not None and subject.status is not None:
            status = subject.status
        else:
            status = Status.FIRING if any(a.status is Status.FIRING for a in alerts) else Status.RESOLVED
    labels = dict(common_labels) if common_labels is not None else common(a.labels for a in alerts)
    annotations = (
        dict(common_annotations) if common_annotations is not None else common(a.annotations for a in alerts)
    )
    groups = dict(group_labels) if group_labels is not None else group_labels_from_subject(labels, subject)
    return AlertGroup(
        receiver=receiver,
        status=status,
        group_labels=frozen_map(groups),
        common_labels=frozen_map(labels),
        common_annotations=frozen_map(annotations),
        alerts=alerts,
        source_format=source_format,
        truncated=truncated,
        warnings=tuple(dict.fromkeys(warnings)),
        external_url=external_url,
        group_key=group_key,
        reported_count=reported_count,
    )
