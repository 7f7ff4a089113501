"""Actuators: the only code that changes a cluster for remediation. Each applies one decision
(raise CoreDNS's replica floor through its owner, spread its replicas over nodes, enable or disable
NodeLocal DNSCache) and raises
`ActuatorError` (fatal) or `ActuatorRetryable`. Called by remediation after policy and safety checks.
"""

from netguard.remediate.actuators.addon import EksAddonActuator, find_addon
from netguard.remediate.actuators.coredns import (
    CoreDnsActuator,
    DeploymentScaleActuator,
    HpaActuator,
    ProportionalAutoscalerActuator,
    coredns_actuator,
)
from netguard.remediate.actuators.errors import ActuatorError, ActuatorRetryable
from netguard.remediate.actuators.models import ChangeResult, FloorOwner, ReplicaFloor
from netguard.remediate.actuators.nodelocal import (
    DEFAULT_LOCAL_IP,
    MANAGED_BY_LABEL,
    NodeLocalDnsActuator,
    render_manifest,
)
from netguard.remediate.actuators.spread import (
    AddonSpreadOwner,
    DeploymentSpreadOwner,
    SpreadActuator,
    hostname_constraint,
    pods_to_evict,
)

__all__ = [
    "DEFAULT_LOCAL_IP",
    "MANAGED_BY_LABEL",
    "ActuatorError",
    "ActuatorRetryable",
    "AddonSpreadOwner",
    "ChangeResult",
    "CoreDnsActuator",
    "DeploymentScaleActuator",
    "DeploymentSpreadOwner",
    "EksAddonActuator",
    "FloorOwner",
    "HpaActuator",
    "NodeLocalDnsActuator",
    "ProportionalAutoscalerActuator",
    "ReplicaFloor",
    "SpreadActuator",
    "coredns_actuator",
    "find_addon",
    "hostname_constraint",
    "pods_to_evict",
    "render_manifest",
]
