"""Alert times as Alertmanager writes them: RFC 3339 (JSON, webhook) or Go's `time.Time.String()`.

Go's form is `2006-01-02 15:04:05.999999999 -0700 MST`, optionally followed by a monotonic clock
reading (` m=+12.345`); Alertmanager's zero time (`0001-01-01 00:00:00 +0000 UTC`) means "not set".
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone

_GO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))? "
    r"(?P<sign>[+-])(?P<hh>\d{2})(?P<mm>\d{2})(?: [A-Za-z0-9+_/-]+)?(?: m=[+-]\d+(?:\.\d+)?)?"
)
_RFC3339 = re.compile(
    r"(?P<head>\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?P<zone>[Zz]|[+-]\d{2}:?\d{2})"
)


def _is_zero(value: datetime) -> bool:
    return value.year == 1 and value.month == 1 and value.day == 1 and value.hour == 0 and value.minute == 0


def parse_go_time(text: str) -> datetime | None:
    """Go's `time.Time.String()` to an aware datetime; None for the zero time. Raises ValueError."""
    match = _GO.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a Go time: {text[:60]!r}")
    return _from_go(match)


def _from_go(match: re.Match[str]) -> datetime | None:
    date, time, frac, sign, hours, minutes = match.groups()  # _GO's six groups, in this order
    if date == "0001-01-01" and time.startswith("00:00"):
        return None  # Alertmanager's zero time, as `_is_zero` tells it (before building a datetime)
    if minutes < "60":
        # One ISO string for fromisoformat, in C; Go never writes another zone offset.
        value = datetime.fromisoformat(
            f"{date}T{time}.{(frac or '').ljust(6, '0')[:6]}{sign}{hours}:{minutes}"
        )
    else:
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        naive = datetime.fromisoformat(f"{date}T{time}.{(frac or '').ljust(6, '0')[:6]}")
        value = naive.replace(tzinfo=timezone(-offset if sign == "-" else offset))
    return value


def parse_rfc3339(text: str) -> datetime | None:
    """RFC 3339 (any number of fractional digits) to an aware datetime; None for the zero time."""
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text[:60]!r}")
    head, frac, zone = match.group("head", "frac", "zone")
    if head[10] == "T" and zone == "Z" and (frac is None or len(frac) <= 6):
        # What Alertmanager writes: fromisoformat (Python 3.11+) reads it as it is, in C.
        value = datetime.fromisoformat(match.string)
    else:
        zone = "+00:00" if zone in {"Z", "z"} else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
        value = datetime.fromisoformat(f"{head.replace(' ', 'T')}.{(frac or '').ljust(6, '0')[:6]}{zone}")
    return None if _is_zero(value) else value


def _go_match(text: str) -> re.Match[str] | None:
    # A Go time always has " +hhmm" or " -hhmm"; RFC 3339 never does: skip the regex for the latter.
    if " +" not in text and " -" not in text:
        return None
    return _GO.fullmatch(text.strip())


def is_go_time(text: str) -> bool:
    return _go_match(text) is not None


@functools.lru_cache(maxsize=1024)
def parse_time(text: str) -> datetime | None:
    """Either form; empty text is None. Raises ValueError for anything else.

    Cached: alerts of one group share times (the zero end time of every firing alert, start times of
    one rule evaluation), and a datetime is immutable.
    """
    stripped = text.strip()
    if not stripped:
        return None
    match = _go_match(stripped)  # one regex match decides and reads
    return _from_go(match) if match is not None else parse_rfc3339(stripped)
