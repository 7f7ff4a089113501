"""CoreDNS as the EKS managed add-on: its replica floor is a configuration value, set by UpdateAddon.

`replicaCount` (or `autoScaling.minReplicas` when `autoScaling.enabled`) is merged into the add-on's
current configuration values, every other value kept, with `resolveConflicts=PRESERVE`; before each
UpdateAddon, `update_text` refuses a document that differs from the values just read anywhere but
the paths netguard owns. The merge functions and that guard are pure; `EksAddonActuator` is the
adapter over an injected boto3 EKS client.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterable, Mapping
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

Path = tuple[Any, ...]
"""Keys from the top of a configuration document down to one value (YAML keys need not be strings)."""

FLOOR_PATHS: tuple[Path, ...] = (
    ("replicaCount",),
    ("autoScaling", "minReplicas"),
    ("autoScaling", "maxReplicas"),
)
"""Every configuration path the floor actuator may write: `floor_keys` picks among them by mode."""


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
    removed when `original` had none); every other value, including ones changed since, is kept.

    Only the floor paths are read from `original` (a recorded snapshot, stored outside the cluster):
    its `corefile` or any other value never flows back. A section the operator has removed since
    (`autoScaling`) is not recreated: netguard's raise went with it."""
    restored = copy.deepcopy(dict(current))
    for path in floor_keys(original):
        old = _lookup(original, path)
        parent = _lookup(restored, path[:-1])
        if not isinstance(parent, dict):
            continue
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


def changed_paths(old: Any, new: Any, prefix: Path = ()) -> list[Path]:
    """The paths where two configuration documents differ: objects are compared key by key, down to
    the first value that differs; lists and scalars are compared whole (strictly: `1`, `1.0` and
    `true` differ). A key on one side only is a difference at that key."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[Path] = []
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in old or key not in new:
                paths.append((*prefix, key))
            else:
                paths.extend(changed_paths(old[key], new[key], (*prefix, key)))
        return paths
    return [] if _same(old, new) else [prefix]


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def dotted(path: Path) -> str:
    return ".".join(str(key) for key in path) or "(the whole document)"


def check_only_owned(
    current: Mapping[str, Any], sent: Mapping[str, Any], owned: Iterable[Path], *, what: str
) -> None:
    """Refuse (ActuatorError naming the paths) a document `sent` that differs from `current`, the
    values just read, at a path that is none of `owned` and lies under none of them: a key added,
    removed or changed anywhere else, a section created around an owned path included.

    Why: UpdateAddon's `configurationValues` is the add-on's whole set of values, not a patch, so
    netguard must send the operator's other values back, and sending them back is the one way it
    could change them. IAM cannot condition on configuration values (`eks:UpdateAddon` on the
    add-on's ARN allows any values), so this property of the code is the only boundary between the
    remediation role and the cluster's DNS: a `corefile` sent by netguard would be applied by EKS
    itself, outside the admission policy (docs/security.md, the row about `corefile`)."""
    owned = tuple(owned)
    outside = [
        path
        for path in changed_paths(dict(current), dict(sent))
        if not any(path[: len(mine)] == mine for mine in owned)
    ]
    if outside:
        raise ActuatorError(
            f"refusing to update {what}: the values sent would change "
            f"{', '.join(dotted(p) for p in outside)}, which netguard does not own "
            f"(it writes only {', '.join(dotted(p) for p in owned)})"
        )


def update_text(
    current: Mapping[str, Any], outgoing: Mapping[str, Any], owned: Iterable[Path], *, what: str
) -> str:
    """The configurationValues text to send for `outgoing`, checked by `check_only_owned` as EKS will
    read it (JSON parsed back, so a value JSON would carry differently counts as changed). Called
    right before every UpdateAddon, dry-run included."""
    try:
        text = json.dumps(outgoing, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:  # a YAML date or .inf has no JSON form EKS would read back
        raise ActuatorError(
            f"refusing to update {what}: its configuration values have no JSON form: {exc}"
        ) from exc
    check_only_owned(current, json.loads(text), owned, what=what)
    return text


def check_floor_values(current: Mapping[str, Any], outgoing: Mapping[str, Any], *, what: str) -> None:
    """Every floor value netguard changes is a positive integer or removed (the add-on's default):
    a recorded original read back from the state table never sets a floor of zero or a non-number."""
    for path in FLOOR_PATHS:
        value = _lookup(outgoing, path)
        if value is _MISSING or _same(value, _lookup(current, path)):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ActuatorError(
                f"refusing to update {what}: {dotted(path)} would be {value!r}, not a positive integer"
            )


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
        current = parse_configuration_values(obj.get("configurationValues"))
        if not dry_run:
            # EKS has no conditional UpdateAddon: values someone changes between this read and the
            # update would be overwritten with what was read. One more DescribeAddon right before
            # the update narrows that window to the time of one request (it cannot close it); values
            # that moved since `obj` are retried from a fresh read rather than written over.
            fresh = self._describe()
            self._check_not_busy(fresh)
            if not _same(parse_configuration_values(fresh.get("configurationValues")), current):
                raise ActuatorRetryable(
                    f"the configuration values of {self._what} changed since they were read; "
                    "not written over, to be tried again from a fresh read"
                )
        text = update_text(current, want, FLOOR_PATHS, what=self._what)
        check_floor_values(current, want, what=self._what)
        return self._apply(obj, want, text, dry_run=dry_run)

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
        self._check_not_busy(addon)
        version = str(addon.get("addonVersion") or "")
        schema = configuration_schema(self._eks, self._addon, version, what=self._what)
        for path in floor_keys(values):
            if _lookup(values, path) is not _MISSING and not schema_accepts(schema, path):
                raise ActuatorError(
                    f"{self._what} version {version} does not accept configuration value "
                    f"{'.'.join(path)}; upgrade the add-on or raise CoreDNS replicas by hand"
                )

    def _check_not_busy(self, addon: Mapping[str, Any]) -> None:
        status = str(addon.get("status") or "")
        if status in _BUSY_STATUSES:
            raise ActuatorRetryable(f"{self._what} is {status}; an add-on takes one change at a time")

    def _apply(
        self, addon: Mapping[str, Any], values: Mapping[str, Any], text: str, *, dry_run: bool
    ) -> dict[str, Any]:
        """Send `text` (the guarded form of `values`, from `update_text`) and nothing else."""
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
