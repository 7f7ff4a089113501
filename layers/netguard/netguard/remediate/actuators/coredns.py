"""Raise (and restore) CoreDNS's replica floor through whoever owns the replica count.

`coredns_actuator` picks the owner: an HPA (`minReplicas`), cluster-proportional-autoscaler (`min`
in its ConfigMap), the EKS managed add-on (see `addon.py`), else the plain Deployment (its `scale`
subresource). `spec.replicas` is never written under an autoscaler: the autoscaler would undo it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from netguard.clients.kubernetes import FIELD_MANAGER, JsonObject, Kube, KubeApiError, KubeUnavailable
from netguard.dns import ClusterDns, OwnerKind
from netguard.remediate.actuators.addon import EksAddonActuator, find_addon
from netguard.remediate.actuators.errors import ActuatorError, ActuatorRetryable, kube_error, kube_errors
from netguard.remediate.actuators.floor import FloorActuator, check_target
from netguard.remediate.actuators.models import ChangeResult, FloorOwner, ReplicaFloor

logger = logging.getLogger(__name__)


class CoreDnsActuator(Protocol):
    """Reads and changes CoreDNS's replica floor through one owner."""

    @property
    def owner(self) -> str: ...

    def read(self) -> ReplicaFloor: ...

    def raise_floor(self, target: int, *, dry_run: bool) -> ChangeResult:
        """Make the floor at least `target`; a no-op when it already is. `dry_run` changes nothing."""
        ...

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult:
        """Put back the values in `original` (a previous `ChangeResult.before`)."""
        ...


def coredns_actuator(
    kube: Kube,
    dns: ClusterDns,
    *,
    eks: Any | None = None,
    cluster_name: str | None = None,
) -> CoreDnsActuator:
    """The actuator for whoever owns CoreDNS's replica count, in this order of precedence: an HPA,
    cluster-proportional-autoscaler, the EKS managed add-on (when `eks` and `cluster_name` are
    given and the add-on exists), the Deployment itself."""
    owner = dns.owner
    if owner.kind == OwnerKind.HPA:
        return HpaActuator(kube, namespace=dns.namespace, hpa=owner.name, deployment=dns.deployment_name)
    if owner.kind == OwnerKind.CLUSTER_PROPORTIONAL_AUTOSCALER:
        configmap = str(owner.detail.get("configmap") or "")
        if not configmap:
            raise ActuatorError(
                f"cluster-proportional-autoscaler {owner.name} targets CoreDNS but has no --configmap "
                "flag; netguard only changes its parameters through that ConfigMap"
            )
        return ProportionalAutoscalerActuator(
            kube,
            namespace=str(owner.detail.get("namespace") or dns.namespace),
            configmap=configmap,
            autoscaler=owner.name,
            deployment=dns.deployment_name,
            deployment_namespace=dns.namespace,
        )
    if eks is not None and cluster_name:
        addon = find_addon(eks, cluster_name)
        if addon is not None:
            return EksAddonActuator(
                eks, cluster_name, kube=kube, namespace=dns.namespace, deployment=dns.deployment_name
            )
    if owner.kind == OwnerKind.EKS_ADDON:
        raise ActuatorError("CoreDNS is the EKS managed add-on, but no EKS client or cluster name was given")
    return DeploymentScaleActuator(kube, namespace=dns.namespace, deployment=dns.deployment_name)


def _read_scale(kube: Kube, namespace: str, deployment: str) -> JsonObject:
    return kube.call(kube.apps.read_namespaced_deployment_scale, deployment, namespace)


def _desired_replicas(kube: Kube, namespace: str, deployment: str) -> int:
    with kube_errors(f"read the scale of Deployment {namespace}/{deployment}"):
        scale = _read_scale(kube, namespace, deployment)
    return int((scale.get("spec") or {}).get("replicas") or 0)


def patch_reading_back(
    kube: Kube,
    *,
    patch_method: Callable[..., Any],
    read: Callable[[], JsonObject],
    name: str,
    namespace: str,
    sent: JsonObject,
    patch: Mapping[str, Any],
    landed: Callable[[JsonObject], bool],
    action: str,
    field_manager: str,
    dry_run: bool,
) -> JsonObject:
    """A conditional merge patch (`sent`'s resourceVersion is in `patch`) whose lost answer is read
    back: a timeout, reset or 5xx may have lost the answer, not the change. When the object moved
    since `sent` and `landed` says it holds what was sent, that is the answer (any other writer would
    have conflicted); otherwise the error is raised as before. Without this, Lambda's retry would
    see the new value as the floor and raise it a second step."""
    try:
        return kube.merge(
            patch_method, name, namespace, patch=patch, field_manager=field_manager, dry_run=dry_run
        )
    except KubeUnavailable as exc:
        now = None if dry_run else _read_back(read, sent, landed)
        if now is None:
            raise kube_error(exc, action) from exc
        logger.warning("answer lost, but the change is in place", extra={"action": action})
        return now
    except KubeApiError as exc:
        raise kube_error(exc, action) from exc


def _read_back(
    read: Callable[[], JsonObject], sent: JsonObject, landed: Callable[[JsonObject], bool]
) -> JsonObject | None:
    try:
        now = read()
    except (KubeApiError, ActuatorError, ActuatorRetryable):
        return None
    moved = now["metadata"]["resourceVersion"] != sent["metadata"]["resourceVersion"]
    return now if moved and landed(now) else None


# --- plain Deployment ----------------------------------------------------------------------------


class DeploymentScaleActuator(FloorActuator[JsonObject, int]):
    """CoreDNS with no autoscaler: the Deployment's `scale` subresource is the replica count."""

    owner = FloorOwner.DEPLOYMENT
    raised_words = ("scaled", "would scale")

    def __init__(
        self,
        kube: Kube,
        *,
        namespace: str = "kube-system",
        deployment: str = "coredns",
        field_manager: str = FIELD_MANAGER,
    ) -> None:
        self._kube = kube
        self._namespace = namespace
        self._deployment = deployment
        self._field_manager = field_manager
        self._what = f"Deployment {namespace}/{deployment}"

    def read(self) -> ReplicaFloor:
        snapshot = self._snapshot(self._get())
        return ReplicaFloor(
            self.owner.value,
            snapshot["floor"],
            snapshot["replicas"],
            {"namespace": self._namespace, "deployment": self._deployment},
        )

    def _already(self, before: Mapping[str, Any], target: int) -> str:
        return f"{self._what} already has {before['replicas']} replicas (>= {target})"

    def _raising(self, before: Mapping[str, Any], target: int) -> int:
        return target

    def _raised(self, before: Mapping[str, Any], after: Mapping[str, Any], target: int) -> str:
        return (
            f"{self._what} from {before['replicas']} to {after['replicas']} replicas "
            "through its scale subresource"
        )

    def _restoring(self, before: Mapping[str, Any], original: Mapping[str, Any]) -> int | None:
        wanted = int(original["replicas"])
        check_target(wanted)
        return None if before["replicas"] == wanted else wanted

    def _already_restored(self, want: Any) -> str:
        return f"{self._what} already has {int(want['replicas'])} replicas"

    def _restored(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
        return f"{self._what} from {before['replicas']} to {after['replicas']} replicas"

    def _get(self) -> JsonObject:
        with kube_errors(f"read the scale of {self._what}"):
            return _read_scale(self._kube, self._namespace, self._deployment)

    def _write(self, obj: JsonObject, want: int, *, dry_run: bool) -> dict[str, Any]:
        # resourceVersion makes the patch conditional: a concurrent change turns into a retryable conflict.
        written = patch_reading_back(
            self._kube,
            patch_method=self._kube.apps.patch_namespaced_deployment_scale,
            read=lambda: _read_scale(self._kube, self._namespace, self._deployment),
            name=self._deployment,
            namespace=self._namespace,
            sent=obj,
            patch={
                "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                "spec": {"replicas": want},
            },
            landed=lambda now: int((now.get("spec") or {}).get("replicas") or 0) == want,
            action=f"scale {self._what} to {want}",
            field_manager=self._field_manager,
            dry_run=dry_run,
        )
        return self._snapshot(written)

    def _snapshot(self, obj: JsonObject) -> dict[str, Any]:
        replicas = int((obj.get("spec") or {}).get("replicas") or 0)
        return {
            "owner": self.owner.value,
            "namespace": self._namespace,
            "deployment": self._deployment,
            "floor": replicas,
            "replicas": replicas,
        }


# --- HorizontalPodAutoscaler ---------------------------------------------------------------------


class HpaActuator(FloorActuator[JsonObject, dict[str, int]]):
    """CoreDNS under an HPA: raise `minReplicas` (and `maxReplicas` when it would be below)."""

    owner = FloorOwner.HPA

    def __init__(
        self,
        kube: Kube,
        *,
        namespace: str,
        hpa: str,
        deployment: str = "coredns",
        field_manager: str = FIELD_MANAGER,
    ) -> None:
        self._kube = kube
        self._namespace = namespace
        self._hpa = hpa
        self._deployment = deployment
        self._field_manager = field_manager
        self._what = f"HorizontalPodAutoscaler {namespace}/{hpa}"

    def read(self) -> ReplicaFloor:
        before = self._snapshot(self._get())
        return ReplicaFloor(
            self.owner.value,
            before["floor"],
            self._replicas(),
            {"namespace": self._namespace, "hpa": self._hpa, "maxReplicas": before["maxReplicas"]},
        )

    def _already(self, before: Mapping[str, Any], target: int) -> str:
        return f"{self._what} already has minReplicas {before['minReplicas']} (>= {target})"

    def _raising(self, before: Mapping[str, Any], target: int) -> dict[str, int]:
        spec: dict[str, int] = {"minReplicas": target}
        if before["maxReplicas"] < target:
            spec["maxReplicas"] = target
        return spec

    def _raised(self, before: Mapping[str, Any], after: Mapping[str, Any], target: int) -> str:
        extra = f" and maxReplicas to {target}" if before["maxReplicas"] < target else ""
        return f"minReplicas of {self._what} from {before['minReplicas']} to {target}{extra}"

    def _restoring(self, before: Mapping[str, Any], original: Mapping[str, Any]) -> dict[str, int] | None:
        wanted = self._wanted(original)
        return None if all(before[k] == v for k, v in wanted.items()) else wanted

    def _already_restored(self, want: Any) -> str:
        return f"{self._what} already has {self._wanted(want)}"

    def _restored(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
        return f"{self._what} to minReplicas {after['minReplicas']}, maxReplicas {after['maxReplicas']}"

    @staticmethod
    def _wanted(original: Mapping[str, Any]) -> dict[str, int]:
        return {"minReplicas": int(original["minReplicas"]), "maxReplicas": int(original["maxReplicas"])}

    def _get(self) -> JsonObject:
        with kube_errors(f"read {self._what}"):
            return self._kube.call(
                self._kube.autoscaling.read_namespaced_horizontal_pod_autoscaler, self._hpa, self._namespace
            )

    def _write(self, obj: JsonObject, want: dict[str, int], *, dry_run: bool) -> dict[str, Any]:
        written = patch_reading_back(
            self._kube,
            patch_method=self._kube.autoscaling.patch_namespaced_horizontal_pod_autoscaler,
            read=self._get,
            name=self._hpa,
            namespace=self._namespace,
            sent=obj,
            patch={"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]}, "spec": dict(want)},
            landed=lambda now: all((now.get("spec") or {}).get(k) == v for k, v in want.items()),
            action=f"update {self._what}",
            field_manager=self._field_manager,
            dry_run=dry_run,
        )
        return self._snapshot(written)

    def _replicas(self) -> int:
        return _desired_replicas(self._kube, self._namespace, self._deployment)

    def _snapshot(self, obj: JsonObject) -> dict[str, Any]:
        spec = obj.get("spec") or {}
        minimum = int(spec.get("minReplicas") or 1)  # the API's default
        return {
            "owner": self.owner.value,
            "namespace": self._namespace,
            "hpa": self._hpa,
            "floor": minimum,
            "minReplicas": minimum,
            "maxReplicas": int(spec.get("maxReplicas") or 0),
        }


# --- cluster-proportional-autoscaler -------------------------------------------------------------


def linear_floor(params: Mapping[str, Any]) -> int:
    """The fewest replicas a `linear` autoscaler keeps: `min` (CPA applies it after `max`)."""
    return max(int(params.get("min") or 0), 1)


def ladder_floor(params: Mapping[str, Any]) -> int:
    """The fewest replicas a `ladder` autoscaler keeps: it takes the larger of its two step tables,
    and a table yields one of its own values (1 when the table is empty)."""
    floors = [
        min((int(step[1]) for step in params.get(key) or []), default=1)
        for key in ("coresToReplicas", "nodesToReplicas")
    ]
    return max(1, *floors)


def raise_linear(params: Mapping[str, Any], target: int) -> dict[str, Any]:
    """`params` with `min` raised to `target` (and a non-zero `max` below it raised too); every other
    parameter kept."""
    raised = dict(params)
    raised["min"] = max(int(params.get("min") or 0), target)
    if int(params.get("max") or 0) and int(params["max"]) < target:
        raised["max"] = target
    return raised


def raise_ladder(params: Mapping[str, Any], target: int) -> dict[str, Any]:
    """`params` with every step of one table raised to at least `target` (the cores table when it
    has steps, else the nodes table), so whatever step applies yields `target` or more."""
    raised = dict(params)
    key = "coresToReplicas" if params.get("coresToReplicas") else "nodesToReplicas"
    raised[key] = [[step[0], max(int(step[1]), target)] for step in params.get(key) or [[0, 1]]]
    return raised


class ProportionalAutoscalerActuator(FloorActuator[JsonObject, tuple[str, dict[str, Any]]]):
    """CoreDNS under cluster-proportional-autoscaler: raise the floor in the autoscaler's ConfigMap
    (`linear`: `min`; `ladder`: the step values). The autoscaler applies it within its poll period."""

    owner = FloorOwner.CLUSTER_PROPORTIONAL_AUTOSCALER

    def __init__(
        self,
        kube: Kube,
        *,
        namespace: str,
        configmap: str,
        autoscaler: str = "",
        deployment: str = "coredns",
        deployment_namespace: str | None = None,
        field_manager: str = FIELD_MANAGER,
    ) -> None:
        self._kube = kube
        self._namespace = namespace
        self._configmap = configmap
        self._autoscaler = autoscaler
        self._deployment = deployment
        self._deployment_namespace = deployment_namespace or namespace
        self._field_manager = field_manager
        self._what = f"cluster-proportional-autoscaler ConfigMap {namespace}/{configmap}"

    def read(self) -> ReplicaFloor:
        before = self._snapshot(self._get())
        return ReplicaFloor(
            self.owner.value,
            before["floor"],
            self._replicas(),
            {
                "namespace": self._namespace,
                "configmap": self._configmap,
                "autoscaler": self._autoscaler,
                "mode": before["mode"],
                "params": before["params"],
            },
        )

    def _raising(self, before: Mapping[str, Any], target: int) -> tuple[str, dict[str, Any]]:
        mode, params = before["mode"], before["params"]
        return mode, raise_linear(params, target) if mode == "linear" else raise_ladder(params, target)

    def _raised(self, before: Mapping[str, Any], after: Mapping[str, Any], target: int) -> str:
        what = "min" if before["mode"] == "linear" else "ladder steps"
        return (
            f"{what} of {self._what} from {before['floor']} to {after['floor']}; every other parameter kept"
        )

    def _restoring(
        self, before: Mapping[str, Any], original: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        mode, old = str(original["mode"]), original["params"]
        if mode != before["mode"]:
            raise ActuatorError(
                f"{self._what} switched from {mode} to {before['mode']} mode; restore by hand"
            )
        # Put back only what netguard changes; parameters someone else changed since stay.
        keys = ("min", "max") if mode == "linear" else ("coresToReplicas", "nodesToReplicas")
        restored = dict(before["params"])
        for key in keys:
            if key in old:
                restored[key] = old[key]
            else:
                restored.pop(key, None)
        return None if restored == before["params"] else (mode, restored)

    def _restored(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
        return f"the {after['mode']} floor of {self._what} to {after['floor']}"

    def _get(self) -> JsonObject:
        with kube_errors(f"read {self._what}"):
            return self._kube.call(
                self._kube.core.read_namespaced_config_map, self._configmap, self._namespace
            )

    def _write(self, obj: JsonObject, want: tuple[str, dict[str, Any]], *, dry_run: bool) -> dict[str, Any]:
        mode, params = want

        def landed(now: JsonObject) -> bool:
            try:
                return bool(json.loads((now.get("data") or {}).get(mode) or "null") == dict(params))
            except ValueError:
                return False

        written = patch_reading_back(
            self._kube,
            patch_method=self._kube.core.patch_namespaced_config_map,
            read=self._get,
            name=self._configmap,
            namespace=self._namespace,
            sent=obj,
            patch={
                "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                "data": {mode: json.dumps(params)},
            },
            landed=landed,
            action=f"update {self._what}",
            field_manager=self._field_manager,
            dry_run=dry_run,
        )
        return self._snapshot(written)

    def _replicas(self) -> int:
        return _desired_replicas(self._kube, self._deployment_namespace, self._deployment)

    def _snapshot(self, obj: JsonObject) -> dict[str, Any]:
        data = obj.get("data") or {}
        for mode, floor in (("linear", linear_floor), ("ladder", ladder_floor)):
            if mode in data:
                try:
                    params = json.loads(data[mode])
                except ValueError as exc:
                    raise ActuatorError(f"{self._what}: `{mode}` is not valid JSON: {exc}") from exc
                if not isinstance(params, dict):
                    raise ActuatorError(f"{self._what}: `{mode}` is not a JSON object")
                return {
                    "owner": self.owner.value,
                    "namespace": self._namespace,
                    "configmap": self._configmap,
                    "mode": mode,
                    "floor": floor(params),
                    "params": params,
                }
        raise ActuatorError(f"{self._what} has neither `linear` nor `ladder` parameters")
