"""Emulated owners of CoreDNS's replica count in the local stack: cluster-proportional-autoscaler and
the EKS managed add-on, each a reconcile loop that sets the Deployment's replicas from its own
configuration, as the real controllers do. A change written only to `spec.replicas` is undone at the
next reconcile, so a scenario proves remediation went through the owner.

Why emulate: neither runs in a kwok cluster (no containers), and the EKS add-on manager is AWS's.
Pure parts (`cpa_linear_replicas`, `cpa_manifests`) are table-tested; `ReplicaOwnerLoop` is the
adapter (one thread, two Kubernetes calls per round).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from netguard.clients.kubernetes import JsonObject, Kube
from netguard.remediate.actuators.addon import floor_of, parse_configuration_values
from netguard_cli.localstack.eksaddons import EksAddonEndpoint
from netguard_cli.localstack.seed import KUBE_SYSTEM

logger = logging.getLogger(__name__)

CPA_NAME = "dns-autoscaler"
OWNER_FIELD_MANAGER = "owner-emulator"


def cpa_linear_replicas(params: Mapping[str, Any], *, nodes: int, cores: int) -> int:
    """cluster-proportional-autoscaler's `linear` mode: max(cores/coresPerReplica,
    nodes/nodesPerReplica) rounded up, at least 2 with preventSinglePointFailure on a multi-node
    cluster, then clamped to [min, max]."""
    wanted = 0
    if params.get("coresPerReplica"):
        wanted = max(wanted, math.ceil(cores / float(params["coresPerReplica"])))
    if params.get("nodesPerReplica"):
        wanted = max(wanted, math.ceil(nodes / float(params["nodesPerReplica"])))
    if params.get("preventSinglePointFailure") and nodes > 1:
        wanted = max(wanted, 2)
    wanted = max(wanted, int(params.get("min") or 0))
    if params.get("max"):
        wanted = min(wanted, int(params["max"]))
    return wanted


def cpa_manifests(min_replicas: int = 2) -> list[JsonObject]:
    """The autoscaler's ConfigMap and Deployment as the EKS docs deploy them for CoreDNS."""
    linear = {
        "coresPerReplica": 256,
        "nodesPerReplica": 16,
        "min": min_replicas,
        "preventSinglePointFailure": True,
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CPA_NAME, "namespace": KUBE_SYSTEM},
            "data": {"linear": json.dumps(linear)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": CPA_NAME, "namespace": KUBE_SYSTEM, "labels": {"k8s-app": CPA_NAME}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"k8s-app": CPA_NAME}},
                "template": {
                    "metadata": {"labels": {"k8s-app": CPA_NAME}},
                    "spec": {
                        "containers": [
                            {
                                "name": "autoscaler",
                                "image": "registry.k8s.io/cpa/cluster-proportional-autoscaler:v1.9.0",
                                "command": [
                                    "/cluster-proportional-autoscaler",
                                    f"--namespace={KUBE_SYSTEM}",
                                    f"--configmap={CPA_NAME}",
                                    "--target=Deployment/coredns",
                                    "--logtostderr=true",
                                ],
                            }
                        ]
                    },
                },
            },
        },
    ]


def cpa_desired(kube: Kube) -> Callable[[], int]:
    """What the autoscaler would set now: its ConfigMap's `linear` over the cluster's nodes and cores."""

    def desired() -> int:
        configmap = kube.call(kube.core.read_namespaced_config_map, CPA_NAME, KUBE_SYSTEM)
        params = json.loads((configmap.get("data") or {}).get("linear") or "{}")
        nodes = [
            n for n in kube.list_all(kube.core.list_node) if not (n.get("spec") or {}).get("unschedulable")
        ]
        cores = sum(int(str((n.get("status") or {}).get("capacity", {}).get("cpu", "0"))) for n in nodes)
        return cpa_linear_replicas(params, nodes=len(nodes), cores=cores)

    return desired


def addon_desired(endpoint: EksAddonEndpoint, cluster: str) -> Callable[[], int]:
    """What the EKS add-on manager would apply now: `replicaCount` (or `autoScaling.minReplicas`)."""

    def desired() -> int:
        with endpoint.lock:
            text = endpoint.addons[(cluster, "coredns")].configuration_values
        return floor_of(parse_configuration_values(text))

    return desired


class ReplicaOwnerLoop:
    """Every `interval` seconds: compute the owner's replica count and write it to the Deployment's
    scale subresource when it differs. `rounds` and `last_round_at` tell a scenario that a reconcile
    happened after some moment; `on_write` is told of every change the owner makes."""

    def __init__(
        self,
        name: str,
        kube: Kube,
        desired: Callable[[], int],
        *,
        interval: float = 2.0,
        on_write: Callable[[str, int, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._kube = kube
        self._desired = desired
        self._interval = interval
        self._on_write = on_write
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"owner-{name}", daemon=True)
        self.rounds = 0
        self.last_round_at = 0.0

    def start(self) -> ReplicaOwnerLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def reconcile(self) -> None:
        want = self._desired()
        kube = self._kube
        scale = kube.call(kube.apps.read_namespaced_deployment_scale, "coredns", KUBE_SYSTEM)
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        if current != want:
            kube.merge(
                kube.apps.patch_namespaced_deployment_scale,
                "coredns",
                KUBE_SYSTEM,
                patch={"spec": {"replicas": want}},
                field_manager=OWNER_FIELD_MANAGER,
            )
            if self._on_write is not None:
                self._on_write(self.name, current, want)
        self.rounds += 1
        self.last_round_at = self._clock()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
            except Exception as exc:  # noqa: BLE001 -- a controller retries on its next round
                logger.debug("%s reconcile failed: %s", self.name, exc)
            self._stop.wait(self._interval)
