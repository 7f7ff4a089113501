"""Operator commands as decisions, run through the same service path as automatic ones.

`netguard remediation revert|disable-nodelocal` build these; the service takes the lock, applies,
audits and publishes exactly as for an alert (without the kill switch and modes: a person decided).
"""

from __future__ import annotations

from typing import Any

from netguard.remediate import apply
from netguard.remediate.cluster import ClusterHandle
from netguard.remediate.models import (
    Decision,
    DisableNodeLocal,
    History,
    NoAction,
    RevertCoreDns,
    RevertSpread,
)


def revert_coredns(handle: ClusterHandle, history: History) -> Decision:
    if history.original_coredns is None:
        return NoAction(("operator revert: netguard has not raised the CoreDNS floor; nothing to restore",))
    return RevertCoreDns(
        history.original_coredns,
        ("operator revert: CoreDNS replica floor back to its value before netguard raised it",),
        expected_floor=history.floor_set_by_netguard,
    )


def revert_spread(handle: ClusterHandle, history: History) -> Decision:
    if history.original_spread is None:
        return NoAction(
            ("operator revert: netguard has not made CoreDNS's spread durable; nothing to restore",)
        )
    return RevertSpread(
        history.original_spread,
        (
            "operator revert: CoreDNS's topologySpreadConstraints / affinity back to their values"
            " before netguard",
        ),
    )


def revert_nodelocal(handle: ClusterHandle, history: History) -> Decision:
    if not history.nodelocal_enabled_by_netguard:
        return NoAction(("operator revert: netguard did not enable NodeLocal DNSCache; left as it is",))
    return DisableNodeLocal(("operator revert: remove NodeLocal DNSCache, which netguard enabled",))


def disable_nodelocal(handle: ClusterHandle, history: History) -> Decision:
    return DisableNodeLocal(("operator asked to remove NodeLocal DNSCache (only objects netguard applied)",))


def state_summary(handle: ClusterHandle) -> dict[str, Any]:
    return {**apply.state_summary(handle), "ready_nodes": handle.state.ready_nodes}
