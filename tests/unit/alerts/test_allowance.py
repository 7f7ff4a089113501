"""Mapping an alert to the EC2 network allowance it is about."""

from __future__ import annotations

import pytest

from netguard.alerts import AllowanceKind, allowance_kind

K = AllowanceKind


@pytest.mark.parametrize(
    ("labels", "url", "expected"),
    [
        ({"alertname": "Whatever", "type": "linklocal_allowance_exceeded"}, "", K.LINKLOCAL),
        ({"alertname": "X", "type": "pps_allowance_exceeded"}, "", K.PPS),
        ({"alertname": "X", "type": "bw_in_allowance_exceeded"}, "", K.BW_IN),
        ({"alertname": "X", "type": "bw_out_allowance_exceeded"}, "", K.BW_OUT),
        ({"alertname": "X", "type": "conntrack_allowance_exceeded"}, "", K.CONNTRACK),
        ({"alertname": "X", "type": "conntrack_allowance_available"}, "", K.CONNTRACK_AVAILABLE),
        # Only the `type` label names the counter: a metric name, another label or the URL never does.
        ({"alertname": "X", "__name__": "node_ethtool_bw_out_allowance_exceeded"}, "", K.UNKNOWN),
        ({"alertname": "X", "metric": "ethtool_conntrack_allowance_available"}, "", K.UNKNOWN),
        (
            {"alertname": "X", "expr": 'rate(node_net_ethtool{type="pps_allowance_exceeded"}[1m]) > 0'},
            "",
            K.UNKNOWN,
        ),
        ({"alertname": "HighErrorRate", "route": "/api/linklocal_allowance_exceeded"}, "", K.UNKNOWN),
        ({"alertname": "X", "type": "/api/linklocal_allowance_exceeded"}, "", K.UNKNOWN),
        # A rule that is not netguard's, with a type label of its own: its name is the fallback.
        ({"alertname": "LinkLocalAllowanceExceeded", "type": "http"}, "", K.LINKLOCAL),
        # the type label wins over the alert name
        ({"alertname": "PPSAllowanceExceeded", "type": "linklocal_allowance_exceeded"}, "", K.LINKLOCAL),
        (
            {"alertname": "DnsTrouble"},
            "http://prom/graph?g0.expr=rate%28node_ethtool_linklocal_allowance_exceeded%5B1m%5D%29+%3E+0",
            K.UNKNOWN,
        ),
        ({"alertname": "LinkLocalAllowanceExceeded"}, "", K.LINKLOCAL),
        ({"alertname": "LinklocalAllowanceExceededPersisting"}, "", K.LINKLOCAL),
        ({"alertname": "EC2LinkLocalAllowanceExceeded"}, "", K.LINKLOCAL),
        ({"alertname": "BWINAllowanceExceeded"}, "", K.BW_IN),
        ({"alertname": "BWOutAllowanceExceeded"}, "", K.BW_OUT),
        ({"alertname": "ConntrackAllowanceExceeded"}, "", K.CONNTRACK),
        ({"alertname": "ConntrackAllowanceAvailableLow"}, "", K.CONNTRACK_AVAILABLE),
        ({"alertname": "PPSAllowanceExceeded"}, "", K.PPS),
        ({"alertname": "HighCPU", "type": "something_else"}, "http://prom/graph?g0.expr=up", K.UNKNOWN),
        ({}, "", K.UNKNOWN),
    ],
)
def test_allowance_kind(labels: dict[str, str], url: str, expected: AllowanceKind) -> None:
    """A `type` label naming a counter decides; else only the alert name, never another label or URL."""
    assert allowance_kind(labels, generator_url=url) is expected
