"""Alertmanager's alert identity, and the group identity netguard derives from it.

The fingerprint matches prometheus/common `model.LabelSet.Fingerprint`: FNV-1a 64 over the label
names in sorted order, each name and each value followed by the byte 0xff, printed as 16 hex digits.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEPARATOR = b"\xff"


def _fnv1a(data: bytes, hash_value: int) -> int:
    for byte in data:
        hash_value ^= byte
        hash_value = (hash_value * _FNV_PRIME) & _MASK
    return hash_value


_FINGERPRINT = re.compile(r"[0-9a-f]{16}")


def is_fingerprint(text: str) -> bool:
    """16 lowercase hex digits: what Alertmanager prints for `.Fingerprint`."""
    return _FINGERPRINT.fullmatch(text) is not None


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set, e.g. `'a3c1f2...'` (16 lowercase hex digits)."""
    return f"{_fnv1a(_stream(labels), _FNV_OFFSET):016x}"


_LANE = 14
"""Bytes per alert in `fingerprints`: a 64-bit hash times the 41-bit prime needs 105 bits, which 112
hold, so a lane's product never spills into the next lane before the mask."""


def _stream(labels: Mapping[str, str]) -> bytes:
    """The bytes `fingerprint` hashes: name, 0xff, value, 0xff for each label in name order."""
    # Usually all ASCII: join with NUL, encode once and turn the NULs into 0xff, all in C. Exact only
    # when no label holds a NUL or a non-ASCII character; otherwise encode label by label.
    text = "\x00".join(itertools.chain.from_iterable(sorted(labels.items()))) + "\x00"
    if text.isascii() and text.count("\x00") == 2 * len(labels):
        return text.encode("ascii").replace(b"\x00", _SEPARATOR)
    return b"".join(
        [name.encode() + _SEPARATOR + labels[name].encode() + _SEPARATOR for name in sorted(labels)]
    )


def _shared_prefix(streams: list[bytes]) -> int:
    """How many leading bytes every stream has in common (those of the lowest and highest suffice)."""
    low, high = min(streams), max(streams)
    length = 0
    while length < len(low) and low[length] == high[length]:
        length += 1
    return length


def fingerprints(label_sets: Sequence[Mapping[str, str]]) -> list[str]:
    """`fingerprint` of many label sets at once: the same values, several times faster.

    FNV-1a is a byte-by-byte loop, about 80 % of parsing a large group when run per alert in Python
    (no maintained package ships a wheel with FNV-1a 64, and our own C extension would need building
    for Lambda's arm64). Here every alert is a 112-bit lane of one Python integer, so one big-integer
    XOR, multiply and mask hash the n-th byte of every alert at once: the loop runs once per byte of
    the longest label stream, not once per byte of all of them. The bytes every alert starts with
    (the shared labels that sort first) are hashed once. A lane whose stream ended is read out at
    that length and ignored from then on.
    """
    if len(label_sets) < 2:
        return [fingerprint(labels) for labels in label_sets]
    streams = [_stream(labels) for labels in label_sets]
    # The loop runs once per byte of the longest stream over every lane: one long label value would
    # make it cost that length times the group. Streams much longer than the usual are hashed alone.
    usual = sorted(map(len, streams))[len(streams) // 2]
    alone = {i for i, stream in enumerate(streams) if len(stream) > 4 * usual + 256}
    if not alone:
        return _lanes(streams)
    result = [f"{_fnv1a(streams[i], _FNV_OFFSET):016x}" if i in alone else "" for i in range(len(streams))]
    rest = [i for i in range(len(streams)) if i not in alone]
    for i, value in zip(rest, _lanes([streams[i] for i in rest]), strict=True):
        result[i] = value
    return result


def _lanes(streams: list[bytes]) -> list[str]:
    """`fingerprints` of streams of similar length, every alert a lane of one integer."""
    if len(streams) < 2:
        return [f"{_fnv1a(stream, _FNV_OFFSET):016x}" for stream in streams]
    shared = _shared_prefix(streams)
    start_value = _fnv1a(streams[0][:shared], _FNV_OFFSET)
    count = len(streams)
    row = count * _LANE
    longest = max(map(len, streams)) - shared
    # columns[j * row + i * _LANE] is byte `shared + j` of alert i: one strided assignment per alert.
    columns = bytearray(longest * row)
    ending: dict[int, list[int]] = {}
    for index, stream in enumerate(streams):
        rest = stream[shared:]
        offset = index * _LANE
        columns[offset : offset + len(rest) * row : row] = rest
        ending.setdefault(len(rest), []).append(index)
    state = int.from_bytes(start_value.to_bytes(_LANE, "little") * count, "little")
    mask = int.from_bytes(_MASK.to_bytes(_LANE, "little") * count, "little")
    view = memoryview(columns)
    result = [""] * count
    for length in range(longest + 1):
        if length in ending:
            lanes = state.to_bytes(row, "little")
            for index in ending[length]:
                offset = index * _LANE
                result[index] = f"{int.from_bytes(lanes[offset : offset + 8], 'little'):016x}"
        if length < longest:
            column = int.from_bytes(view[length * row : (length + 1) * row], "little")
            state = ((state ^ column) * _FNV_PRIME) & mask
    return result


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
