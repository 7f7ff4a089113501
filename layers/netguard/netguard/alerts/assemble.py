"""Turning what a parser read into `Alert`s and an `AlertGroup`, the same way for every format.

A fingerprint the message carries is used when well-formed and a spot check agrees (see
`_fingerprints`), else it is computed from the labels; common labels and annotations are derived when
the format does not carry them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from netguard.alerts.allowance import allowance_kind
from netguard.alerts.fingerprint import fingerprint, fingerprints
from netguard.alerts.models import Alert, AlertGroup, SourceFormat, Status, SubjectInfo, frozen_map


@dataclass(slots=True)
class RawAlert:
    """An alert as a parser read it, before fingerprinting and classification.

    `labels` and `annotations` are handed over: the `Alert` wraps them read-only without a copy, so a
    parser passes dicts nothing else holds (a fresh dict per alert)."""

    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""
    fingerprint: str = ""
    """The fingerprint the message carried, if any."""
    ambiguity: str = ""
    """Why this reading may not be Alertmanager's (`Alert.ambiguity`); empty when the parser is sure."""


_HEX = re.compile(r"[0-9a-f]*")


def build_alert(raw: RawAlert, fingerprint: str) -> Alert:
    return Alert(
        status=raw.status,
        # Read-only views of the parser's own dicts (see RawAlert): a second copy per map and alert
        # cost as much as reading them.
        labels=MappingProxyType(raw.labels),
        annotations=MappingProxyType(raw.annotations),
        starts_at=raw.starts_at,
        ends_at=raw.ends_at,
        generator_url=raw.generator_url,
        fingerprint=fingerprint,
        allowance=allowance_kind(raw.labels),
        ambiguity=raw.ambiguity,
    )


def _fingerprints(raws: Sequence[RawAlert], warnings: list[str]) -> list[str]:
    """Each alert's fingerprint: the one the message carries when it is 16 lowercase hex digits,
    computed from the labels when it is missing or malformed.

    A carried fingerprint is Alertmanager's own (a template can only print `.Fingerprint`): the same
    FNV-1a over the labels, and the identity Alertmanager dedups by. Hashing every alert again was a
    third of a JSON message's parse. The first and the last carried fingerprints are checked against
    their labels (two hashes): when a template prints something else in that field, or labels changed
    on the way, every alert is hashed, the computed values are used and each difference is a warning.
    A single wrong value between two right ones passes as Alertmanager's.
    """
    carried = [raw.fingerprint for raw in raws]
    joined = "".join(carried)
    carrying: Sequence[int]
    if len(joined) == 16 * len(carried) and _HEX.fullmatch(joined) is not None:
        carrying = range(len(carried))  # the usual case, checked for the whole group at C speed
    else:
        carrying = [i for i, value in enumerate(carried) if len(value) == 16 and _HEX.fullmatch(value)]
    trusted = bool(carrying) and all(
        fingerprint(raws[i].labels) == carried[i] for i in {carrying[0], carrying[-1]}
    )
    result = list(carried)
    todo: Sequence[int] = sorted(set(range(len(raws))).difference(carrying)) if trusted else range(len(raws))
    for i, value in zip(todo, fingerprints([raws[i].labels for i in todo]), strict=True):
        if carried[i] and carried[i] != value:
            name = raws[i].labels.get("alertname", "?")
            warnings.append(
                f"alert {name}: message carries fingerprint {carried[i]}, labels give {value} (used)"
            )
        result[i] = value
    return result


def common(maps: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The pairs the first map shares with every other (Alertmanager's CommonLabels / CommonAnnotations)."""
    iterator = iter(maps)
    first = next(iterator, None)
    if first is None:
        return {}
    shared = dict(first)
    for other in iterator:
        if not shared:
            break
        if shared.items() <= other.items():
            continue  # the usual case, a set comparison in C: nothing to drop
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
    fingerprints_checked: bool = False,
) -> AlertGroup:
    """`fingerprints_checked`: each raw alert's fingerprint is already that of its labels (the
    parser hashed them), so none is checked or computed again."""
    fingerprints = (
        [raw.fingerprint for raw in raws] if fingerprints_checked else _fingerprints(raws, warnings)
    )
    alerts = tuple(map(build_alert, raws, fingerprints))
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
