"""Alertmanager's alert identity, and the group identity netguard derives from it.

The fingerprint matches prometheus/common `model.LabelSet.Fingerprint`: FNV-1a 64 over the label
names in sorted order, each name and each value followed by the byte 0xff, printed as 16 hex digits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = b"\xff"


def _fnv1a(data: bytes, hash_value: int) -> int:
    for byte in data:
        hash_value ^= byte
        hash_value = (hash_value * _FNV_PRIME) & _MASK
    return hash_value


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set, e.g. `'a3c1f2...'` (16 lowercase hex digits)."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        value = _fnv1a(name.encode() + _SEPARATOR + labels[name].encode() + _SEPARATOR, value)
    return f"{value:016x}"


def group_identity(cluster: str, alertname: str, group_labels: Mapping[str, str]) -> str:
    """A stable identity for an alert group: the same for its firing and resolved notifications.

    Used for PagerDuty's `dedup_key`, Slack message references and idempotency. Readable when short,
    hashed when long, and never more than 255 characters (PagerDuty's limit).
    """
    parts: Iterable[str] = (f"{k}={group_labels[k]}" for k in sorted(group_labels))
    readable = "/".join(["netguard", cluster or "-", alertname or "-", *parts])
    if len(readable) <= 200 and readable.isprintable():
        return readable
    digest = hashlib.sha256(readable.encode()).hexdigest()[:32]
    return f"netguard/{(cluster or '-')[:60]}/{(alertname or '-')[:80]}/{digest}"
