"""Spread CoreDNS: evict the extra replicas off a node that carries several, and keep them apart.

Evictions go through the Eviction API (policy/v1), so PodDisruptionBudgets are honoured: an HTTP 429
means "not now" and the eviction is retried at the next check, never forced. They start only once
every desired replica is Ready (new replicas first, then old ones move). The spread is made durable
through whoever owns the pod spec: a `topologySpreadConstraints` entry on the Deployment (also under
an HPA or cluster-proportional-autoscaler, which own only the replica count), or the EKS add-on's
configuration values when its schema (read at run time) offers `topologySpreadConstraints` or
`affinity`; when it offers neither, netguard only evicts and says so.

Every Kubernetes request of this module goes through the four `_k8s_*` functions below, so a change
of client touches only them.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from netguard.clients.kubernetes import (
    FIELD_MANAGER,
    JsonList,
    JsonObject,
    Kube,
    KubeApiError,
    KubeTooManyRequests,
)
from netguard.dns.observe import HOSTNAME, spreads_by_host
from netguard.remediate.actuators.addon import (
    ADDON_NAME,
    changed_paths,
    configuration_schema,
    parse_configuration_values,
    schema_accepts,
    update_text,
)
from netguard.remediate.actuators.errors import (
    ActuatorError,
    ActuatorRetryable,
    aws_errors,
    kube_error,
    kube_errors,
)
from netguard.remediate.actuators.models import ChangeResult

logger = logging.getLogger(__name__)

JSON_PATCH = "application/json-patch+json"
PDB_BLOCKED_STATUS = 429
"""What the Eviction API answers when a PodDisruptionBudget does not allow the disruption now."""


# --- pure: the constraint and the choice of pods -------------------------------------------------


def hostname_constraint(match_labels: Mapping[str, str]) -> dict[str, Any]:
    """One CoreDNS replica per node, as long as there are nodes with fewer.

    DoNotSchedule, not ScheduleAnyway: ScheduleAnyway is only a score, which is what EKS's preferred
    anti-affinity already is, and that is how two replicas end up on one interface. maxSkew 1 still
    lets replicas outnumber nodes (skew is a difference, not a count), nodeTaintsPolicy Honor keeps
    nodes CoreDNS cannot run on (tainted, cordoned) out of the count, and matchLabelKeys
    pod-template-hash counts each rollout's ReplicaSet on its own so a surge pod is never blocked.
    """
    return {
        "maxSkew": 1,
        "topologyKey": HOSTNAME,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": dict(match_labels)},
        "matchLabelKeys": ["pod-template-hash"],
        "nodeTaintsPolicy": "Honor",
    }


def required_anti_affinity(match_labels: Mapping[str, str]) -> dict[str, Any]:
    """The add-on fallback when its schema offers `affinity` only: never two replicas on one node
    (stricter than the constraint: replicas beyond the node count stay Pending, the policy caps the
    target at the node count)."""
    return {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": dict(match_labels)}, "topologyKey": HOSTNAME}
            ]
        }
    }


@dataclass(frozen=True)
class PodRef:
    name: str
    node: str
    ready: bool


def pods_to_evict(pods: Sequence[PodRef], per_node: int) -> list[PodRef]:
    """On each node with more than `per_node` replicas, the extras (not-Ready ones first, then by
    name, so the choice is stable across retries)."""
    by_node: dict[str, list[PodRef]] = {}
    for pod in pods:
        if pod.node:
            by_node.setdefault(pod.node, []).append(pod)
    chosen: list[PodRef] = []
    for node in sorted(by_node):
        group = sorted(by_node[node], key=lambda p: (p.ready, p.name))
        chosen.extend(group[: max(0, len(group) - per_node)])
    return chosen


def with_spread_values(
    values: Mapping[str, Any], key: str, match_labels: Mapping[str, str]
) -> dict[str, Any]:
    """Add-on configuration values with the spread under `key`; every other value kept."""
    merged = copy.deepcopy(dict(values))
    if key == "topologySpreadConstraints":
        kept = [c for c in merged.get(key) or [] if c.get("topologyKey") != HOSTNAME]
        merged[key] = [*kept, hostname_constraint(match_labels)]
    else:
        affinity = dict(merged.get("affinity") or {})
        affinity.update(required_anti_affinity(match_labels))
        merged["affinity"] = affinity
    return merged


# --- the Kubernetes requests (the only ones this module makes) -----------------------------------


def _k8s_pods(kube: Kube, namespace: str, selector: str) -> JsonList:
    return kube.list_all(kube.core.list_namespaced_pod, namespace, label_selector=selector)


def _k8s_deployment(kube: Kube, namespace: str, name: str) -> JsonObject:
    return kube.call(kube.apps.read_namespaced_deployment, name, namespace)


def _k8s_patch_constraints(
    kube: Kube,
    namespace: str,
    name: str,
    current: JsonList | None,
    wanted: JsonList | None,
    *,
    dry_run: bool,
) -> JsonObject:
    """Replace the pod template's topologySpreadConstraints, on condition that they are still
    `current` (a JSON-patch `test`): unlike resourceVersion, this does not fail on every status update
    of the Deployment, only when someone changed the constraints themselves (HTTP 422)."""
    path = "/spec/template/spec/topologySpreadConstraints"
    ops: JsonList = [] if current is None else [{"op": "test", "path": path, "value": current}]
    if wanted is None:
        ops.append({"op": "remove", "path": path})
    else:
        ops.append({"op": "add", "path": path, "value": wanted})  # add replaces an existing member
    return kube.call(
        kube.apps.patch_namespaced_deployment,
        name,
        namespace,
        ops,
        field_manager=FIELD_MANAGER,
        _content_type=JSON_PATCH,
        **({"dry_run": "All"} if dry_run else {}),
    )


def _k8s_evict(kube: Kube, namespace: str, pod: str) -> None:
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": namespace},
    }
    kube.call(kube.core.create_namespaced_pod_eviction, pod, namespace, body)


def _is_pdb_block(exc: KubeApiError) -> bool:
    return isinstance(exc, KubeTooManyRequests) or exc.status == PDB_BLOCKED_STATUS


# --- who owns the pod spec -----------------------------------------------------------------------


class SpreadOwner(Protocol):
    """Makes the spread durable (and undoes it) through whoever owns CoreDNS's pod spec."""

    def read(self) -> dict[str, Any]:
        """The values a revert puts back (`owner` plus the owner's spread values)."""
        ...

    def make_durable(self, *, dry_run: bool) -> tuple[bool, str, dict[str, Any]]:
        """(changed, one sentence, the values before)."""
        ...

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> tuple[bool, str]: ...


class DeploymentSpreadOwner:
    """A plain Deployment (also under an HPA or cluster-proportional-autoscaler): patch its pod template."""

    owner = "deployment"

    def __init__(self, kube: Kube, *, namespace: str, deployment: str) -> None:
        self._kube = kube
        self._namespace = namespace
        self._deployment = deployment
        self._what = f"Deployment {namespace}/{deployment}"

    def _get(self) -> JsonObject:
        with kube_errors(f"read {self._what}"):
            return _k8s_deployment(self._kube, self._namespace, self._deployment)

    @staticmethod
    def _pod_spec(deployment: JsonObject) -> JsonObject:
        return ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}

    def read(self) -> dict[str, Any]:
        spec = self._pod_spec(self._get())
        return {
            "owner": self.owner,
            "topologySpreadConstraints": copy.deepcopy(spec.get("topologySpreadConstraints")),
        }

    def make_durable(self, *, dry_run: bool) -> tuple[bool, str, dict[str, Any]]:
        deployment = self._get()
        spec = self._pod_spec(deployment)
        current = copy.deepcopy(spec.get("topologySpreadConstraints"))
        before = {"owner": self.owner, "topologySpreadConstraints": current}
        if spreads_by_host(spec):
            return False, f"{self._what} already keeps CoreDNS replicas apart per node", before
        labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        kept = [c for c in current or [] if c.get("topologyKey") != HOSTNAME]
        self._patch(current, [*kept, hostname_constraint(labels)], dry_run=dry_run)
        return (
            True,
            f"topologySpreadConstraints (maxSkew 1 per {HOSTNAME}, DoNotSchedule) on {self._what},"
            " which rolls its pods out one at a time under the new rule",
            before,
        )

    def _patch(self, current: JsonList | None, wanted: JsonList | None, *, dry_run: bool) -> None:
        action = f"set the topologySpreadConstraints of {self._what}"
        try:
            _k8s_patch_constraints(
                self._kube, self._namespace, self._deployment, current, wanted, dry_run=dry_run
            )
        except KubeApiError as exc:
            if exc.status == 422 and current is not None:  # the `test` failed: changed meanwhile
                raise ActuatorRetryable(
                    f"{action}: changed by someone else meanwhile, re-read and retry"
                ) from exc
            raise kube_error(exc, action) from exc

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> tuple[bool, str]:
        current = self._pod_spec(self._get()).get("topologySpreadConstraints")
        wanted = original.get("topologySpreadConstraints")
        if current == wanted:
            return False, f"{self._what} already has its original topologySpreadConstraints"
        self._patch(current, wanted, dry_run=dry_run)
        return True, f"topologySpreadConstraints of {self._what} back to {json.dumps(wanted)}"


_SPREAD_PATHS = (("topologySpreadConstraints",), ("affinity",))
"""The add-on configuration paths the spread writes; every other value is sent back unchanged."""


class AddonSpreadOwner:
    """The EKS managed add-on: the spread goes into its configuration values, if its schema allows."""

    owner = "eks-addon"

    def __init__(
        self, eks: Any, cluster_name: str, *, match_labels: Mapping[str, str], addon_name: str = ADDON_NAME
    ) -> None:
        self._eks = eks
        self._cluster = cluster_name
        self._labels = dict(match_labels)
        self._addon = addon_name
        self._what = f"EKS add-on {addon_name} of cluster {cluster_name}"

    def _describe(self) -> Mapping[str, Any]:
        with aws_errors(f"describe {self._what}"):
            return dict(self._eks.describe_addon(clusterName=self._cluster, addonName=self._addon)["addon"])

    def offered_key(self, addon: Mapping[str, Any]) -> str | None:
        """`topologySpreadConstraints`, else `affinity`, whichever the version's schema offers first."""
        version = str(addon.get("addonVersion") or "")
        schema = configuration_schema(self._eks, self._addon, version, what=self._what)
        for key in ("topologySpreadConstraints", "affinity"):
            if schema_accepts(schema, (key,)):
                return key
        return None

    def read(self) -> dict[str, Any]:
        values = parse_configuration_values(self._describe().get("configurationValues"))
        return self._original(values)

    def _original(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "topologySpreadConstraints": copy.deepcopy(values.get("topologySpreadConstraints")),
            "affinity": copy.deepcopy(values.get("affinity")),
        }

    def make_durable(self, *, dry_run: bool) -> tuple[bool, str, dict[str, Any]]:
        addon = self._describe()
        values = parse_configuration_values(addon.get("configurationValues"))
        before = self._original(values)
        if spreads_by_host(values):
            return False, f"{self._what} already keeps CoreDNS replicas apart per node", before
        key = self.offered_key(addon)
        if key is None:
            return (
                False,
                f"{self._what} version {addon.get('addonVersion')} offers neither topologySpreadConstraints"
                " nor affinity in its configuration schema, so the spread cannot be made durable (only"
                " evicted); upgrade the add-on to keep replicas apart",
                before,
            )
        self._update(values, with_spread_values(values, key, self._labels), dry_run=dry_run)
        return (
            True,
            f"{key} (one CoreDNS replica per node) in the configuration values of {self._what}",
            before,
        )

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> tuple[bool, str]:
        values = parse_configuration_values(self._describe().get("configurationValues"))
        restored = dict(values)
        for key in ("topologySpreadConstraints", "affinity"):
            if original.get(key) is None:
                restored.pop(key, None)
            else:
                restored[key] = copy.deepcopy(original[key])
        if restored == values:
            return False, f"{self._what} already has its original spread values"
        self._update(values, restored, dry_run=dry_run)
        return True, f"spread values of {self._what} restored"

    def _update(self, current: Mapping[str, Any], values: Mapping[str, Any], *, dry_run: bool) -> None:
        # The document replaces all the add-on's values: refused if it would change anything but the
        # spread keys (`corefile` above all; see `update_text`), in dry-run as well.
        text = update_text(current, values, _SPREAD_PATHS, what=self._what)
        if dry_run:
            return  # EKS has no dry-run for UpdateAddon: the description says what would be sent
        # No conditional UpdateAddon either: one more read right before the update narrows the
        # window in which someone's change would be written over (it cannot close it).
        if changed_paths(
            dict(current), parse_configuration_values(self._describe().get("configurationValues"))
        ):
            raise ActuatorRetryable(
                f"the configuration values of {self._what} changed since they were read; "
                "not written over, to be tried again from a fresh read"
            )
        with aws_errors(f"update {self._what}"):
            self._eks.update_addon(
                clusterName=self._cluster,
                addonName=self._addon,
                configurationValues=text,
                resolveConflicts="PRESERVE",
            )


# --- the actuator --------------------------------------------------------------------------------


class SpreadActuator:
    """Evict extra CoreDNS replicas off shared nodes and make the spread durable through `owner`."""

    def __init__(
        self,
        kube: Kube,
        owner: SpreadOwner,
        *,
        namespace: str = "kube-system",
        deployment: str = "coredns",
        selector: str = "k8s-app=kube-dns",
    ) -> None:
        self._kube = kube
        self._owner = owner
        self._namespace = namespace
        self._deployment = deployment
        self._selector = selector

    def read(self) -> dict[str, Any]:
        return self._owner.read()

    def spread(self, per_node: int, *, desired: int, dry_run: bool) -> ChangeResult:
        """Make the spread durable, then evict the replicas beyond `per_node` on each node once all
        `desired` replicas are Ready. `after["pending"]` says why evictions are left for later."""
        changed, durable, original = self._owner.make_durable(dry_run=dry_run)
        with kube_errors(f"list the pods of {self._namespace}/{self._deployment}"):
            pods = [
                ref
                for p in _k8s_pods(self._kube, self._namespace, self._selector)
                if (ref := _pod_ref(p)) is not None  # leaving pods neither count nor move
            ]
        extras = pods_to_evict(pods, per_node)
        ready = sum(1 for p in pods if p.ready)
        before = {"original": original, "pods": {p.name: p.node for p in pods}}
        evicted: list[str] = []
        pending = ""
        if changed and not dry_run:
            # The new pod template rolls every replica out under the hard rule (one at a time, as the
            # Deployment's strategy allows), which moves the extras too; evicting now would only race it.
            pass
        elif extras and ready < desired:
            pending = f"{ready} of {desired} replicas Ready; evictions wait until the new replicas are Ready"
        elif extras and not dry_run:
            evicted, pending = self._evict(extras)
        would = [f"{self._namespace}/{p.name} (on {p.node})" for p in extras]
        after = {
            "durable": changed,
            "evicted": evicted,
            "would_evict": would if dry_run else [],
            "pending": pending,
        }
        parts = [
            ("made durable: " if not dry_run else "would make durable: ") + durable if changed else durable
        ]
        if dry_run:
            parts.append("would evict " + (", ".join(would) if would else "nothing (no node carries extras)"))
        elif evicted:
            parts.append(f"evicted {', '.join(evicted)} through the Eviction API")
        elif changed and extras:
            parts.append("the rollout of the new pod template moves the replicas that share a node")
        elif not extras:
            parts.append(f"no node carries more than {per_node} CoreDNS replica{'s' if per_node > 1 else ''}")
        if pending:
            parts.append(f"pending: {pending}")
        return ChangeResult(
            applied=(changed or bool(evicted)) and not dry_run,
            dry_run=dry_run,
            before=before,
            after=after,
            description="; ".join(parts) + (" (dry run: nothing changed)" if dry_run else ""),
        )

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult:
        if original.get("owner") != getattr(self._owner, "owner", None):
            raise ActuatorError(
                f"the recorded spread values belong to {original.get('owner')!r}, but CoreDNS's pod spec is"
                f" now owned by {getattr(self._owner, 'owner', '?')!r}; restore it by hand"
            )
        before = self._owner.read()
        changed, description = self._owner.restore(original, dry_run=dry_run)
        if not changed:
            return ChangeResult(False, dry_run, before, before, description)
        return ChangeResult.made(
            before,
            dict(original),
            dry_run=dry_run,
            done="restored:",
            would="would restore:",
            detail=description,
        )

    def _evict(self, extras: Sequence[PodRef]) -> tuple[list[str], str]:
        evicted: list[str] = []
        for pod in extras:
            try:
                _k8s_evict(self._kube, self._namespace, pod.name)
            except KubeApiError as exc:
                if _is_pdb_block(exc):
                    # The budget says not now: wait for the next check, never delete instead.
                    return (
                        evicted,
                        f"a PodDisruptionBudget does not allow evicting {pod.name} now ({exc.api_message})",
                    )
                raise kube_error(exc, f"evict {self._namespace}/{pod.name}") from exc
            evicted.append(f"{self._namespace}/{pod.name}")
            logger.info("evicted CoreDNS pod", extra={"pod": pod.name, "node": pod.node})
        return evicted, ""


def _pod_ref(pod: JsonObject) -> PodRef | None:
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    return PodRef(
        name=pod["metadata"]["name"], node=(pod.get("spec") or {}).get("nodeName") or "", ready=ready
    )
