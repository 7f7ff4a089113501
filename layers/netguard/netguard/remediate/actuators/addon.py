"""CoreDNS as the EKS managed add-on: its replica floor is a configuration value, set by UpdateAddon.

`replicaCount` (or `autoScaling.minReplicas` when `autoScaling.enabled`) is merged into the add-on's
current configuration values, every other value kept, with `resolveConflicts=PRESERVE`. The merge
functions are pure; `EksAddonActuator` is the adapter over an injected boto3 EKS client.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from netguard.clients.kubernetes import Kube
from netguard.remediate.actuators.errors import (
    ActuatorError,
    ActuatorRetryable,
    aws_error,
    aws_errors,
    kube_errors,
)
from netguard.remediate.actuators.floor import FloorActuator
from netguard.remediate.actuators.models import FloorOwner, ReplicaFloor

logger = logging.getLogger(__name__)

ADDON_NAME = "coredns"
EKS_DEFAULT_REPLICAS = 2
"""What the coredns add-on runs when `replicaCount` is not set."""
_BUSY_STATUSES = frozenset({"CREATING", "UPDATING", "DELETING"})


# --- pure: configuration values ------------------------------------------------------------------


def parse_configuration_values(text: str | None) -> dict[str, Any]:
    """The add-on's configuration values (EKS accepts JSON or YAML; empty means none)."""
    if not text or not text.strip():
        return {}
    try:
        values = json.loads(text)
    except ValueError:
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ActuatorError(
                f"the add-on's configuration values are neither JSON nor YAML: {exc}"
            ) from exc
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ActuatorError("the add-on's configuration values are not an object")
    return values


def autoscaling_enabled(values: Mapping[str, Any]) -> bool:
    scaling = values.get("autoScaling")
    return isinstance(scaling, Mapping) and scaling.get("enabled") is True


def floor_of(values: Mapping[str, Any]) -> int:
    """The replica floor the configuration values ask for."""
    if autoscaling_enabled(values):
        return int(values["autoScaling"].get("minReplicas") or EKS_DEFAULT_REPLICAS)
    return int(values.get("replicaCount") or EKS_DEFAULT_REPLICAS)


def floor_keys(values: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """The configuration paths netguard may write for these values."""
    if autoscaling_enabled(values):
        return (("autoScaling", "minReplicas"), ("autoScaling", "maxReplicas"))
    return (("replicaCount",),)


def with_floor(values: Mapping[str, Any], target: int) -> dict[str, Any]:
    """A copy of `values` asking for at least `target` replicas; every other value kept."""
    merged = copy.deepcopy(dict(values))
    if autoscaling_enabled(values):
        scaling = merged["autoScaling"]
        scaling["minReplicas"] = max(int(scaling.get("minReplicas") or 0), target)
        if "maxReplicas" in scaling and int(scaling["maxReplicas"]) < target:
            scaling["maxReplicas"] = target
    else:
        merged["replicaCount"] = max(int(merged.get("replicaCount") or 0), target)
    return merged


def with_original_floor(current: Mapping[str, Any], original: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `current` whose floor values are those of `original`: the floor key is put back (or
    removed when `original` had none); every other value, including ones changed since, is kept."""
    restored = copy.deepcopy(dict(current))
    for path in floor_keys(original):
        old = _lookup(original, path)
        parent = restored
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                parent[key] = {}
            parent = parent[key]
        if old is not _MISSING:
            parent[path[-1]] = copy.deepcopy(old)
        elif path[-1] != "maxReplicas":  # netguard raises a maximum only when one is set
            parent.pop(path[-1], None)
    return restored


def schema_accepts(schema: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """Whether a JSON schema's `properties` name every key of `path` (nested objects)."""
    node: Any = schema
    for key in path:
        properties = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(properties, Mapping) or key not in properties:
            return False
        node = properties[key]
    return True


class _Missing:
    pass


_MISSING: Any = _Missing()


def _lookup(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


# --- adapter -------------------------------------------------------------------------------------


def configuration_schema(eks: Any, addon_name: str, version: str, *, what: str) -> Mapping[str, Any]:
    """The JSON schema DescribeAddonConfiguration gives for one add-on version (read at run time:
    what a version accepts changes between versions)."""
    with aws_errors(f"describe the configuration schema of {what} {version}"):
        answer = eks.describe_addon_configuration(addonName=addon_name, addonVersion=version)
    try:
        schema = json.loads(answer.get("configurationSchema") or "{}")
    except ValueError as exc:
        raise ActuatorError(f"the configuration schema of {what} {version} is not JSON") from exc
    return schema if isinstance(schema, dict) else {}


def find_addon(eks: Any, cluster_name: str, addon_name: str = ADDON_NAME) -> Mapping[str, Any] | None:
    """The add-on as DescribeAddon returns it, or None when the cluster does not run it as an add-on.
    Any other failure (denied, throttled) is raised: without knowing the owner, nothing is written."""
    action = f"describe EKS add-on {addon_name} of cluster {cluster_name}"
    try:
        return dict(eks.describe_addon(clusterName=cluster_name, addonName=addon_name)["addon"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "ResourceNotFoundException":
            return None
        if status == 404 and code == "404":
            # An endpoint without the add-on API at all (moto in the local stack), not EKS itself.
            logger.warning("%s: the EKS endpoint has no add-on API; treating CoreDNS as self-managed", action)
            return None
        raise aws_error(exc, action) from exc
    except BotoCoreError as exc:
        raise aws_error(exc, action) from exc


class EksAddonActuator(FloorActuator[Mapping[str, Any], dict[str, Any]]):
    """CoreDNS owned by the EKS managed add-on: the floor is changed with UpdateAddon."""

    owner = FloorOwner.EKS_ADDON
    raised_words = ("set", "would set")

    def __init__(
        self,
        eks: Any,
        cluster_name: str,
        *,
        kube: Kube | None = None,
        namespace: str = "kube-system",
        deployment: str = "coredns",
        addon_name: str = ADDON_NAME,
    ) -> None:
        self._eks = eks
        self._cluster = cluster_name
        self._kube = kube
        self._namespace = namespace
        self._deployment = deployment
        self._addon = addon_name
        self._what = f"EKS add-on {addon_name} of cluster {cluster_name}"

    def read(self) -> ReplicaFloor:
        addon = self._describe()
        snapshot = self._snapshot(addon)
        return ReplicaFloor(
            self.owner.value,
            snapshot["floor"],
            self._replicas(snapshot["floor"]),
            {
                "cluster": self._cluster,
                "addon": self._addon,
                "addonVersion": snapshot["addonVersion"],
                "status": snapshot["status"],
                "key": snapshot["key"],
            },
        )

    def _already(self, before: Mapping[str, Any], target: int) -> str:
        return f"{self._what} already asks for {before['floor']} replicas (>= {target})"

    def _raising(self, before: Mapping[str, Any], target: int) -> dict[str, Any]:
        return with_floor(before["values"], target)

    def _raised(self, before: Mapping[str, Any], after: Mapping[str, Any], target: int) -> str:
        return (
            f"{before['key']} of {self._what} from {before['floor']} to {after['floor']} "
            "with UpdateAddon (resolveConflicts=PRESERVE), every other configuration value kept"
        )

    def _restoring(self, before: Mapping[str, Any], original: Mapping[str, Any]) -> dict[str, Any] | None:
        restored = with_original_floor(before["values"], original.get("values") or {})
        return None if restored == before["values"] else restored

    def _restored(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
        return f"{after['key']} of {self._what} to {after['floor']}"

    def _get(self) -> Mapping[str, Any]:
        return self._describe()

    def _write(self, obj: Mapping[str, Any], want: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        self._check_ready(obj, want)
        return self._apply(obj, want, dry_run=dry_run)

    # --- helpers ---------------------------------------------------------------------------------

    def _describe(self) -> Mapping[str, Any]:
        with aws_errors(f"describe {self._what}"):
            return dict(self._eks.describe_addon(clusterName=self._cluster, addonName=self._addon)["addon"])

    def _snapshot(self, addon: Mapping[str, Any]) -> dict[str, Any]:
        values = parse_configuration_values(addon.get("configurationValues"))
        return {
            "owner": self.owner.value,
            "cluster": self._cluster,
            "addon": self._addon,
            "addonVersion": str(addon.get("addonVersion") or ""),
            "status": str(addon.get("status") or ""),
            "key": "autoScaling.minReplicas" if autoscaling_enabled(values) else "replicaCount",
            "floor": floor_of(values),
            "values": values,
            "configurationValues": str(addon.get("configurationValues") or ""),
        }

    def _check_ready(self, addon: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Refuse before writing: an add-on busy with another change, or a version whose configuration
        schema does not know the values netguard would write."""
        status = str(addon.get("status") or "")
        if status in _BUSY_STATUSES:
            raise ActuatorRetryable(f"{self._what} is {status}; an add-on takes one change at a time")
        version = str(addon.get("addonVersion") or "")
        schema = configuration_schema(self._eks, self._addon, version, what=self._what)
        for path in floor_keys(values):
            if _lookup(values, path) is not _MISSING and not schema_accepts(schema, path):
                raise ActuatorError(
                    f"{self._what} version {version} does not accept configuration value "
                    f"{'.'.join(path)}; upgrade the add-on or raise CoreDNS replicas by hand"
                )

    def _apply(self, addon: Mapping[str, Any], values: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
        text = json.dumps(values, sort_keys=True)
        after = self._snapshot({**addon, "configurationValues": text})
        if dry_run:
            # EKS has no dry-run for UpdateAddon: describe what would be sent and send nothing.
            return after
        action = f"update {self._what}"
        try:
            update = self._eks.update_addon(
                clusterName=self._cluster,
                addonName=self._addon,
                configurationValues=text,
                resolveConflicts="PRESERVE",
            )["update"]
        except (BotoCoreError, ClientError) as exc:
            error = aws_error(exc, action)
            # A timeout, reset or 5xx may have lost the answer, not the update: read it back, or
            # Lambda's retry would take the new value for the floor and raise it a second step.
            if not isinstance(error, ActuatorRetryable) or not self._landed(values):
                raise error from exc
            logger.warning("add-on update answer lost, but the values are in place", extra={"action": action})
            return {**after, "update": {"id": "", "status": "read back after a lost answer"}}
        logger.info("add-on update started", extra={"addon": self._addon, "update_id": update.get("id")})
        return {**after, "update": {"id": update.get("id"), "status": update.get("status")}}

    def _landed(self, values: Mapping[str, Any]) -> bool:
        """Whether the add-on's configuration values now are `values` (netguard asks only for a change,
        so the old values differed); False when that cannot be read either."""
        try:
            addon = self._eks.describe_addon(clusterName=self._cluster, addonName=self._addon)["addon"]
            return parse_configuration_values(addon.get("configurationValues")) == dict(values)
        except (BotoCoreError, ClientError, ActuatorError, KeyError):
            return False

    def _replicas(self, fallback: int) -> int:
        if self._kube is None:
            return fallback
        with kube_errors(f"read the scale of Deployment {self._namespace}/{self._deployment}"):
            scale = self._kube.call(
                self._kube.apps.read_namespaced_deployment_scale, self._deployment, self._namespace
            )
        return int((scale.get("spec") or {}).get("replicas") or 0)
