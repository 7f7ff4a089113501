"""Which EC2 network allowance an alert is about: from the `type` label the rules set, else its name.

Called by `assemble.build_alert` for every alert. The counter is known only from the `type` label
(Prometheus drops `__name__` from alert labels): the Showmax exporter's own label, and what
netguard's recording rules set for node_exporter's `node_ethtool_<stat>`. Any other label value, an
annotation or the generator URL is the message's claim, never read here. The alert name (written by
whoever wrote the rule, not by the data) is the fallback for rules that are not netguard's, whose
`type` label, if any, names no counter.
"""

from __future__ import annotations

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


def kind_of_stat(value: str) -> AllowanceKind:
    """The kind an ethtool statistic names exactly (`linklocal_allowance_exceeded`), else UNKNOWN.

    Exact, not a search: `route="/api/linklocal_allowance_exceeded"` names no counter."""
    return STAT_KINDS.get(value, AllowanceKind.UNKNOWN)


def kind_of_alert_name(name: str) -> AllowanceKind:
    """From an alert name such as `LinkLocalAllowanceExceeded` or `EC2PPSAllowanceExceeded`."""
    squashed = "".join(c for c in name.lower() if c.isascii() and c.isalnum())
    for hints, kind in _NAME_HINTS:
        if any(hint in squashed for hint in hints):
            return kind
    return AllowanceKind.UNKNOWN


def allowance_kind(labels: Mapping[str, str], *, generator_url: str = "") -> AllowanceKind:
    """The allowance an alert is about: `linklocal` for `type="linklocal_allowance_exceeded"`.

    A `type` label naming an ENA counter decides; otherwise the alert name (a rule that is not
    netguard's). `generator_url` is accepted for callers of the older signature and never read: a
    URL is no evidence of what the counter is."""
    del generator_url
    kind = kind_of_stat(labels.get("type", ""))
    return kind if kind is not AllowanceKind.UNKNOWN else kind_of_alert_name(labels.get("alertname", ""))
