"""What the local Kubernetes control plane is made of: its simulated nodes and how to reach it.

Plain frozen data shared by `cluster` (starting it), `seed` (making it look like EKS) and the
test fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

IDENTITIES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("admin", ("system:masters",)),
    "enrich": ("netguard-enrich", ("netguard:enrich",)),
    "remediate": ("netguard-remediate", ("netguard:remediate",)),
}
"""Identity name -> (Kubernetes user name, groups). The groups are what deploy/rbac binds, as an
EKS access entry's KubernetesGroups would."""


@dataclass(frozen=True)
class ClusterNode:
    """One simulated worker node and the EC2 instance behind it."""

    name: str
    """The EC2 private DNS name, e.g. `ip-10-0-1-23.ec2.internal`."""
    internal_ip: str
    instance_id: str
    az: str
    instance_type: str
    nodegroup: str

    @property
    def provider_id(self) -> str:
        return f"aws:///{self.az}/{self.instance_id}"


@dataclass(frozen=True)
class ClusterEndpoints:
    """Where a running local cluster listens and the files to reach it with."""

    directory: Path
    server: str
    """The API server URL, e.g. `https://127.0.0.1:6443`."""
    ca_file: Path
    kubeconfigs: Mapping[str, Path] = field(default_factory=dict)
    """Identity name (`admin`, `enrich`, `remediate`) -> kubeconfig path."""
    state_file: Path | None = None
