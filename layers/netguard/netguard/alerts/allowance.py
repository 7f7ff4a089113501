"""Which EC2 network allowance an alert is about, from its labels, generator URL or name.

Sources, most specific first: the Showmax exporter's `type` label (`node_net_ethtool{type="..."}`),
`node_ethtool_<stat>` / `ethtool_<stat>` metric names in any label (`__name__`, `expr`, ...), the
generator URL (Prometheus puts the rule's expression there), and finally the alert name.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Mapping

from netguard.alerts.models import AllowanceKind

STAT_KINDS: Mapping[str, AllowanceKind] = {
    "linklocal_allowance_exceeded": AllowanceKind.LINKLOCAL,
    "pps_allowance_exceeded": AllowanceKind.PPS,
    "bw_in_allowance_exceeded": AllowanceKind.BW_IN,
    "bw_out_allowance_exceeded": AllowanceKind.BW_OUT,
    "conntrack_allowance_exceeded": AllowanceKind.CONNTRACK,
    "conntrack_allowance_available": AllowanceKind.CONNTRACK_AVAILABLE,
}
_STAT = re.compile(r"(linklocal|pps|bw_in|bw_out|conntrack)_allowance_(exceeded|available)", re.IGNORECASE)

# Checked in this order on the alert name with everything but letters and digits removed, lowercased:
# "available" before plain "conntrack", "linklocal" before "pps" (LinkLocalPPS...).
_NAME_HINTS: tuple[tuple[tuple[str, ...], AllowanceKind], ...] = (
    (("linklocal",), AllowanceKind.LINKLOCAL),
    (("conntrackallowanceavailable", "conntrackavailable"), AllowanceKind.CONNTRACK_AVAILABLE),
    (("conntrack",), AllowanceKind.CONNTRACK),
    (("bwin", "bandwidthin", "inboundbandwidth"), AllowanceKind.BW_IN),
    (("bwout", "bandwidthout", "outboundbandwidth"), AllowanceKind.BW_OUT),
    (("pps", "packetspersecond"), AllowanceKind.PPS),
)


@functools.lru_cache(maxsize=256)
def kind_of_stat(text: str) -> AllowanceKind:
    """The kind named by the first ENA allowance statistic found in `text`, else UNKNOWN.

    Cached: a group's alerts repeat the same few values (`type="linklocal_allowance_exceeded"`)."""
    match = _STAT.search(text)
    if match is None:
        return AllowanceKind.UNKNOWN
    return STAT_KINDS.get(match.group(0).lower(), AllowanceKind.UNKNOWN)


def kind_of_alert_name(name: str) -> AllowanceKind:
    """From an alert name such as `LinkLocalAllowanceExceeded` or `EC2PPSAllowanceExceeded`."""
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    for hints, kind in _NAME_HINTS:
        if any(hint in squashed for hint in hints):
            return kind
    return AllowanceKind.UNKNOWN


def allowance_kind(labels: Mapping[str, str], *, generator_url: str = "") -> AllowanceKind:
    """The allowance an alert is about, e.g. `linklocal` for `node_net_ethtool{type="linklocal_..."}`."""
    for value in (labels.get("type", ""), labels.get("__name__", "")):
        kind = kind_of_stat(value)
        if kind is not AllowanceKind.UNKNOWN:
            return kind  # the usual case: the other labels are not even sorted
    for name, value in sorted(labels.items()):
        if name not in {"type", "__name__", "alertname"}:
            kind = kind_of_stat(value)
            if kind is not AllowanceKind.UNKNOWN:
                return kind
    if generator_url:
        kind = kind_of_stat(urllib.parse.unquote_plus(generator_url))
        if kind is not AllowanceKind.UNKNOWN:
            return kind
    return kind_of_alert_name(labels.get("alertname", ""))
