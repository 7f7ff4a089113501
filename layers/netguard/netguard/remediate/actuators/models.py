"""What an actuator reports: the replica floor it found and the change it made (or would make).

Built by the actuators in this folder; read by remediation's policy, audit and revert. Pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


def _frozen(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


class FloorOwner(StrEnum):
    """Who owns CoreDNS's replica count, so who netguard must ask for more replicas."""

    DEPLOYMENT = "deployment"
    EKS_ADDON = "eks-addon"
    CLUSTER_PROPORTIONAL_AUTOSCALER = "cluster-proportional-autoscaler"
    HPA = "hpa"


@dataclass(frozen=True)
class ReplicaFloor:
    """The lowest replica count CoreDNS's owner will keep, and what it wants right now."""

    owner: str
    """A `FloorOwner` value: "deployment", "eks-addon", "cluster-proportional-autoscaler" or "hpa"."""
    floor: int
    """The value netguard raises: the Deployment's replicas, the add-on's `replicaCount` or
    `autoScaling.minReplicas`, the autoscaler's `min`, the HPA's `minReplicas`."""
    replicas: int
    """The number of replicas currently desired (the Deployment's `spec.replicas`)."""
    detail: Mapping[str, Any] = field(default_factory=_frozen)
    """Where the floor lives (object names, other parameters), for reports and revert."""


@dataclass(frozen=True)
class ChangeResult:
    """One actuator call: what was there, what is there now (or would be), and in words."""

    applied: bool
    """True only when the cluster (or the add-on) was changed by this call."""
    dry_run: bool
    before: Mapping[str, Any]
    """The owner's values before the call; pass it to `restore` to undo the change."""
    after: Mapping[str, Any]
    """The values after the call; under `dry_run`, what they would have been."""
    description: str
    """One sentence for the Slack thread and the audit record."""

    @classmethod
    def made(
        cls,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        *,
        dry_run: bool,
        done: str,
        would: str,
        detail: str,
    ) -> ChangeResult:
        """A change made, or under `dry_run` only previewed: the description starts with `done` or
        `would` and says when nothing was changed."""
        suffix = " (dry run: nothing changed)" if dry_run else ""
        return cls(not dry_run, dry_run, before, after, f"{would if dry_run else done} {detail}{suffix}")
