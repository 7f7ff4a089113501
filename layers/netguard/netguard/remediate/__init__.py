"""Remediation of DNS throttling: a pure policy, a persistence gate, safety, and the orchestrator.

`service.RemediationService` is the entry point for `functions/remediate` and `netguard remediation`;
`actuators/` holds the only code that changes a cluster.
"""

from netguard.config.errors import UnknownCluster
from netguard.config.remediate import Mode, PolicySettings
from netguard.remediate.errors import BadFollowUp, LockBusy, RemediateError
from netguard.remediate.models import (
    ClusterState,
    Decision,
    DisableNodeLocal,
    DropStatus,
    EnableNodeLocal,
    Escalate,
    History,
    NoAction,
    Observation,
    RevertCoreDns,
    ScaleCoreDns,
)
from netguard.remediate.policy import decide

__all__ = [
    "BadFollowUp",
    "ClusterState",
    "Decision",
    "DisableNodeLocal",
    "DropStatus",
    "EnableNodeLocal",
    "Escalate",
    "History",
    "LockBusy",
    "Mode",
    "NoAction",
    "Observation",
    "PolicySettings",
    "RemediateError",
    "RevertCoreDns",
    "ScaleCoreDns",
    "UnknownCluster",
    "decide",
]
