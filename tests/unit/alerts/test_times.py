"""Alert times in Go's `time.Time.String()` form and RFC 3339."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from netguard.alerts.times import parse_go_time, parse_rfc3339, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25 20:36:41.124437 +0000 UTC", datetime(2026, 11, 25, 20, 36, 41, 124437, tzinfo=UTC)),
        ("2026-11-25 20:36:41.124437123 +0000 UTC", datetime(2026, 11, 25, 20, 36, 41, 124437, tzinfo=UTC)),
        ("2026-11-25 20:36:41 +0000 UTC", datetime(2026, 11, 25, 20, 36, 41, tzinfo=UTC)),
        (
            "2026-11-25 20:36:41.5 +0100 CET",
            datetime(2026, 11, 25, 20, 36, 41, 500000, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            "2026-11-25 20:36:41.5 -0330 -0330",
            datetime(2026, 11, 25, 20, 36, 41, 500000, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
        ),
        (
            "2026-11-25 20:36:41.1 +0000 UTC m=+12.345678901",
            datetime(2026, 11, 25, 20, 36, 41, 100000, tzinfo=UTC),
        ),
        ("0001-01-01 00:00:00 +0000 UTC", None),
    ],
)
def test_go_time(text: str, expected: datetime | None) -> None:
    """Go's form, fraction of any length, any zone, monotonic suffix; the zero time is None."""
    assert parse_go_time(text) == expected
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T20:36:41.124Z", datetime(2026, 11, 25, 20, 36, 41, 124000, tzinfo=UTC)),
        ("2026-11-25T20:36:41.123456789Z", datetime(2026, 11, 25, 20, 36, 41, 123456, tzinfo=UTC)),
        ("2026-11-25T21:36:41+01:00", datetime(2026, 11, 25, 20, 36, 41, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
    ],
)
def test_rfc3339(text: str, expected: datetime | None) -> None:
    """RFC 3339 with nanoseconds (Go writes them) and offsets; the zero time is None."""
    assert parse_rfc3339(text) == expected
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-11-25", "20:36:41"])
def test_not_a_time(text: str) -> None:
    """Anything else is a ValueError (the parsers turn it into a clear reason)."""
    with pytest.raises(ValueError, match=r"not an? "):
        parse_time(text)
