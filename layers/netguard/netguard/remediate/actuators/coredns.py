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


def _check_target(target: int) -> None:
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise ActuatorError(f"replica floor must be a positive integer, got {target!r}")


def _check_owner(original: Mapping[str, Any], owner: FloorOwner) -> None:
    if original.get("owner") != owner:
        raise ActuatorError(
            f"the recorded values belong to owner {original.get('owner')!r}, but CoreDNS's replica count "
            f"is now owned by {owner.value!r}; restore it by hand"
        )


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


class DeploymentScaleActuator:
    """CoreDNS with no autoscaler: the Deployment's `scale` subresource is the replica count."""

    owner = FloorOwner.DEPLOYMENT

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
        return self._floor(self._get())

    def raise_floor(self, target: int, *, dry_run: bool) -> ChangeResult:
        _check_target(target)
        scale = self._get()
        before = self._snapshot(scale)
        if before["replicas"] >= target:
            return ChangeResult(
                False,
                dry_run,
                before,
                before,
                f"{self._what} already has {before['replicas']} replicas (>= {target})",
            )
        after = self._snapshot(self._set(scale, target, dry_run=dry_run))
        return ChangeResult.made(
            before,
            after,
            dry_run=dry_run,
            done="scaled",
            would="would scale",
            detail=f"{self._what} from {before['replicas']} to {after['replicas']} replicas "
            "through its scale subresource",
        )

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult:
        _check_owner(original, self.owner)
        wanted = int(original["replicas"])
        _check_target(wanted)
        scale = self._get()
        before = self._snapshot(scale)
        if before["replicas"] == wanted:
            return ChangeResult(False, dry_run, before, before, f"{self._what} already has {wanted} replicas")
        after = self._snapshot(self._set(scale, wanted, dry_run=dry_run))
        return ChangeResult.made(
            before,
            after,
            dry_run=dry_run,
            done="restored",
            would="would restore",
            detail=f"{self._what} from {before['replicas']} to {wanted} replicas",
        )

    def _get(self) -> JsonObject:
        with kube_errors(f"read the scale of {self._what}"):
            return _read_scale(self._kube, self._namespace, self._deployment)

    def _set(self, scale: JsonObject, replicas: int, *, dry_run: bool) -> JsonObject:
        # resourceVersion makes the patch conditional: a concurrent change turns into a retryable conflict.
        return patch_reading_back(
            self._kube,
            patch_method=self._kube.apps.patch_namespaced_deployment_scale,
            read=lambda: _read_scale(self._kube, self._namespace, self._deployment),
            name=self._deployment,
            namespace=self._namespace,
            sent=scale,
            patch={
                "metadata": {"resourceVersion": scale["metadata"]["resourceVersion"]},
                "spec": {"replicas": replicas},
            },
            landed=lambda now: int((now.get("spec") or {}).get("replicas") or 0) == replicas,
            action=f"scale {self._what} to {replicas}",
            field_manager=self._field_manager,
            dry_run=dry_run,
        )

    def _snapshot(self, scale: JsonObject) -> dict[str, Any]:
        replicas = int((scale.get("spec") or {}).get("replicas") or 0)
        return {
            "owner": self.owner.value,
            "namespace": self._namespace,
            "deployment": self._deployment,
            "floor": replicas,
            "replicas": replicas,
        }

    def _floor(self, scale: JsonObject) -> ReplicaFloor:
        snapshot = self._snapshot(scale)
        return ReplicaFloor(
            self.owner.value,
            snapshot["floor"],
            snapshot["replicas"],
            {"namespace": self._namespace, "deployment": self._deployment},
        )


# --- HorizontalPodAutoscaler ---------------------------------------------------------------------


class HpaActuator:
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

    def raise_floor(self, target: int, *, dry_run: bool) -> ChangeResult:
        _check_target(target)
        hpa = self._get()
        before = self._snapshot(hpa)
        if before["minReplicas"] >= target:
            return ChangeResult(
                False,
                dry_run,
                before,
                before,
                f"{self._what} already has minReplicas {before['minReplicas']} (>= {target})",
            )
        spec: dict[str, int] = {"minReplicas": target}
        if before["maxReplicas"] < target:
            spec["maxReplicas"] = target
        after = self._snapshot(self._patch(hpa, spec, dry_run=dry_run))
        extra = f" and maxReplicas to {target}" if "maxReplicas" in spec else ""
        return ChangeResult.made(
            before,
            after,
            dry_run=dry_run,
            done="raised",
            would="would raise",
            detail=f"minReplicas of {self._what} from {before['minReplicas']} to {target}{extra}",
        )

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult:
        _check_owner(original, self.owner)
        wanted = {"minReplicas": int(original["minReplicas"]), "maxReplicas": int(original["maxReplicas"])}
        hpa = self._get()
        before = self._snapshot(hpa)
        if all(before[k] == v for k, v in wanted.items()):
            return ChangeResult(False, dry_run, before, before, f"{self._what} already has {wanted}")
        after = self._snapshot(self._patch(hpa, wanted, dry_run=dry_run))
        return ChangeResult.made(
            before,
            after,
            dry_run=dry_run,
            done="restored",
            would="would restore",
            detail=f"{self._what} to minReplicas {wanted['minReplicas']}, "
            f"maxReplicas {wanted['maxReplicas']}",
        )

    def _get(self) -> JsonObject:
        with kube_errors(f"read {self._what}"):
            return self._kube.call(
                self._kube.autoscaling.read_namespaced_horizontal_pod_autoscaler, self._hpa, self._namespace
            )

    def _patch(self, hpa: JsonObject, spec: Mapping[str, int], *, dry_run: bool) -> JsonObject:
        return patch_reading_back(
            self._kube,
            patch_method=self._kube.autoscaling.patch_namespaced_horizontal_pod_autoscaler,
            read=self._get,
            name=self._hpa,
            namespace=self._namespace,
            sent=hpa,
            patch={"metadata": {"resourceVersion": hpa["metadata"]["resourceVersion"]}, "spec": dict(spec)},
            landed=lambda now: all((now.get("spec") or {}).get(k) == v for k, v in spec.items()),
            action=f"update {self._what}",
            field_manager=self._field_manager,
            dry_run=dry_run,
        )

    def _replicas(self) -> int:
        return _desired_replicas(self._kube, self._namespace, self._deployment)

    def _snapshot(self, hpa: JsonObject) -> dict[str, Any]:
        spec = hpa.get("spec") or {}
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


class ProportionalAutoscalerActuator:
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

    def raise_floor(self, target: int, *, dry_run: bool) -> ChangeResult:
        _check_target(target)
        configmap = self._get()
        before = self._snapshot(configmap)
        if before["floor"] >= target:
            return ChangeResult(
                False,
                dry_run,
                before,
                before,
                f"{self._what} already keeps at least {before['floor']} replicas (>= {target})",
            )
        mode, params = before["mode"], before["params"]
        raised = raise_linear(params, target) if mode == "linear" else raise_ladder(params, target)
        after = self._snapshot(self._write(configmap, mode, raised, dry_run=dry_run))
        what = "min" if mode == "linear" else "ladder steps"
        return ChangeResult.made(
            before,
            after,
            dry_run=dry_run,
            done="raised",
            would="would raise",
            detail=f"{what} of {self._what} from {before['floor']} to {after['floor']}; "
            "every other parameter kept",
        )

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult:
        _check_owner(original, self.owner)
        configmap = self._get()
        before = self._snapshot(configmap)
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
        if restored == before["params"]:
            return ChangeResult(
                False, dry_run, before, before, f"{self._what} already has the recorded values"
            )
        after = self._snapshot(self._write(configmap, mode, restored, dry_run=dry_run))
        return ChangeResult.made(
            before,
            after,
            dry_run=dry_run,
            done="restored",
            would="would restore",
            detail=f"the {mode} floor of {self._what} to {after['floor']}",
        )

    def _get(self) -> JsonObject:
        with kube_errors(f"read {self._what}"):
            return self._kube.call(
                self._kube.core.read_namespaced_config_map, self._configmap, self._namespace
            )

    def _write(
        self, configmap: JsonObject, mode: str, params: Mapping[str, Any], *, dry_run: bool
    ) -> JsonObject:
        def landed(now: JsonObject) -> bool:
            try:
                return bool(json.loads((now.get("data") or {}).get(mode) or "null") == dict(params))
            except ValueError:
                return False

        return patch_reading_back(
            self._kube,
            patch_method=self._kube.core.patch_namespaced_config_map,
            read=self._get,
            name=self._configmap,
            namespace=self._namespace,
            sent=configmap,
            patch={
                "metadata": {"resourceVersion": configmap["metadata"]["resourceVersion"]},
                "data": {mode: json.dumps(params)},
            },
            landed=landed,
            action=f"update {self._what}",
            field_manager=self._field_manager,
            dry_run=dry_run,
        )

    def _replicas(self) -> int:
        return _desired_replicas(self._kube, self._deployment_namespace, self._deployment)

    def _snapshot(self, configmap: JsonObject) -> dict[str, Any]:
        data = configmap.get("data") or {}
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
