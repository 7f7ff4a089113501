"""Enable or disable NodeLocal DNSCache: the upstream manifest, rendered and server-side applied.

Rendering is pure (`render_manifest`). `NodeLocalDnsActuator` applies every object with netguard's
field manager and label, refuses unless kube-proxy runs in iptables mode, never touches objects it
did not apply, and on disable deletes exactly the objects that carry its label and field manager.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import yaml

from netguard.clients.kubernetes import (
    FIELD_MANAGER,
    JsonObject,
    Kube,
    KubeApiError,
    KubeConflict,
    KubeNotFound,
)
from netguard.dns import ClusterDns
from netguard.remediate.actuators.errors import ActuatorError, ActuatorRetryable, kube_error, kube_errors
from netguard.remediate.actuators.models import ChangeResult

logger = logging.getLogger(__name__)

MANIFEST = "nodelocaldns.yaml"
DEFAULT_LOCAL_IP = "169.254.20.10"
DEFAULT_DOMAIN = "cluster.local"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "netguard"
_PLACEHOLDERS = ("__PILLAR__DNS__SERVER__", "__PILLAR__LOCAL__DNS__", "__PILLAR__DNS__DOMAIN__")
_DOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
_RESOURCES: Mapping[tuple[str, str], str] = {
    ("v1", "ServiceAccount"): "serviceaccounts",
    ("v1", "Service"): "services",
    ("v1", "ConfigMap"): "configmaps",
    ("apps/v1", "DaemonSet"): "daemonsets",
}
_IPVS_REASON = (
    "kube-proxy runs in IPVS mode: there NodeLocal DNSCache cannot listen on the kube-dns Service IP, "
    "so kubelet's --cluster-dns must change to the link-local address on every node (a node "
    "configuration change netguard does not make); enable it by hand or switch kube-proxy to iptables"
)


def manifest_template() -> str:
    """The packaged upstream manifest, placeholders unfilled."""
    return resources.files(__package__).joinpath(MANIFEST).read_text(encoding="utf-8")


def render_manifest(
    kube_dns_ip: str,
    local_ip: str = DEFAULT_LOCAL_IP,
    domain: str = DEFAULT_DOMAIN,
    *,
    template: str | None = None,
) -> list[dict[str, Any]]:
    """The manifest's objects with the kube-dns IP, link-local IP and cluster domain filled in, each
    labelled as managed by netguard."""
    for name, value in (("kube-dns IP", kube_dns_ip), ("local IP", local_ip)):
        try:
            ipaddress.ip_address(value)
        except ValueError as exc:
            raise ActuatorError(f"NodeLocal DNSCache: {name} {value!r} is not an IP address") from exc
    if not _DOMAIN.match(domain):
        raise ActuatorError(f"NodeLocal DNSCache: cluster domain {domain!r} is not a DNS name")
    text = template if template is not None else manifest_template()
    for placeholder, value in zip(_PLACEHOLDERS, (kube_dns_ip, local_ip, domain), strict=True):
        text = text.replace(placeholder, value)
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    for obj in objects:
        if (obj.get("apiVersion"), obj.get("kind")) not in _RESOURCES:
            raise ActuatorError(f"NodeLocal DNSCache manifest: unexpected {obj.get('kind')}")
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels[MANAGED_BY_LABEL] = MANAGED_BY
    return objects


def object_path(obj: Mapping[str, Any]) -> str:
    """The API path of one manifest object (what the typed methods `Kube.read/apply/delete` pick)."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    meta = obj["metadata"]
    return f"{prefix}/namespaces/{meta['namespace']}/{_RESOURCES[(api_version, kind)]}/{meta['name']}"


def object_ref(obj: Mapping[str, Any]) -> str:
    """`Kind namespace/name`, how reports name an object."""
    meta = obj["metadata"]
    return f"{obj['kind']} {meta['namespace']}/{meta['name']}"


class NodeLocalDnsActuator:
    """Applies and removes NodeLocal DNSCache with netguard's own field manager."""

    def __init__(self, kube: Kube, *, field_manager: str = FIELD_MANAGER) -> None:
        self._kube = kube
        self._field_manager = field_manager

    def render(
        self, kube_dns_ip: str, local_ip: str = DEFAULT_LOCAL_IP, domain: str = DEFAULT_DOMAIN
    ) -> list[dict[str, Any]]:
        return render_manifest(kube_dns_ip, local_ip, domain)

    def is_enabled(self) -> bool:
        """Whether a node-local-dns DaemonSet runs (netguard's or anyone's)."""
        daemonset = next(o for o in self._names() if o["kind"] == "DaemonSet")
        return self._get(daemonset) is not None

    def owns(self, obj: Mapping[str, Any]) -> bool:
        """Whether netguard applied this live object: its label and its field manager are on it."""
        meta = obj.get("metadata") or {}
        labelled = (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
        managed = any(f.get("manager") == self._field_manager for f in meta.get("managedFields") or [])
        return labelled and managed

    def enable(self, dns: ClusterDns, *, dry_run: bool, local_ip: str = DEFAULT_LOCAL_IP) -> ChangeResult:
        """Apply the manifest for this cluster; refused unless kube-proxy runs in iptables mode."""
        mode = dns.kube_proxy_mode
        if mode == "ipvs":
            raise ActuatorError(f"NodeLocal DNSCache not enabled: {_IPVS_REASON}")
        if mode != "iptables":
            found = f"kube-proxy mode is {mode!r}" if mode else "no kube-proxy configuration was found"
            raise ActuatorError(
                "NodeLocal DNSCache not enabled: it is applied only with kube-proxy in iptables mode, "
                f"and {found}"
            )
        if not dns.kube_dns_ip:
            raise ActuatorError("NodeLocal DNSCache not enabled: the kube-dns Service has no ClusterIP")
        objects = self.render(dns.kube_dns_ip, local_ip, dns.cluster_domain or DEFAULT_DOMAIN)
        live = {object_ref(o): self._get(o) for o in objects}
        foreign = [ref for ref, obj in live.items() if obj is not None and not self.owns(obj)]
        if foreign:
            raise ActuatorError(
                "NodeLocal DNSCache not enabled: these objects exist and were not applied by netguard, "
                f"which leaves them alone: {', '.join(foreign)}"
            )
        before = {"objects": sorted(ref for ref, obj in live.items() if obj is not None)}
        applied: list[str] = []
        changed = False
        try:
            for obj in objects:
                ref = object_ref(obj)
                result = self._apply(obj, dry_run=dry_run)
                previous = live[ref]
                if previous is None:
                    applied.append(ref)
                old_version = (previous or {}).get("metadata", {}).get("resourceVersion")
                changed = changed or old_version != result.get("metadata", {}).get("resourceVersion")
        except (ActuatorError, ActuatorRetryable):
            if not dry_run:
                self._undo([o for o in objects if object_ref(o) in applied])
            raise
        after = {
            "objects": sorted(object_ref(o) for o in objects),
            "kube_dns_ip": dns.kube_dns_ip,
            "local_ip": local_ip,
            "domain": dns.cluster_domain or DEFAULT_DOMAIN,
        }
        if dry_run:
            description = (
                f"would apply NodeLocal DNSCache ({len(objects)} objects, listening on {local_ip} "
                f"and {dns.kube_dns_ip}) (dry run: nothing changed)"
            )
        elif not changed:
            description = "NodeLocal DNSCache already applied by netguard; nothing changed"
        else:
            description = (
                f"applied NodeLocal DNSCache ({len(objects)} objects, listening on {local_ip} and "
                f"{dns.kube_dns_ip}) with field manager {self._field_manager}"
            )
        return ChangeResult(changed and not dry_run, dry_run, before, after, description)

    def disable(self, *, dry_run: bool) -> ChangeResult:
        """Delete exactly the NodeLocal DNSCache objects netguard applied; others are left alone."""
        ours: list[dict[str, Any]] = []
        kept: list[str] = []
        for obj in self._names():
            live = self._get(obj)
            if live is None:
                continue
            if not self.owns(live):
                kept.append(object_ref(obj))
            else:
                ours.append(obj)
        before = {"objects": sorted(object_ref(o) for o in ours), "kept": sorted(kept)}
        for obj in reversed(ours):
            with kube_errors(f"delete {object_ref(obj)}"):
                try:
                    self._kube.delete(obj, dry_run=dry_run)
                except KubeNotFound:
                    continue
        after = {"objects": [] if not dry_run else before["objects"], "kept": sorted(kept)}
        left = f"; left alone (not netguard's): {', '.join(sorted(kept))}" if kept else ""
        if not ours:
            description = f"no NodeLocal DNSCache objects applied by netguard to remove{left}"
        elif dry_run:
            description = f"would delete {', '.join(before['objects'])} (dry run: nothing changed){left}"
        else:
            description = f"deleted {', '.join(before['objects'])}{left}"
        return ChangeResult(bool(ours) and not dry_run, dry_run, before, after, description)

    # --- helpers ---------------------------------------------------------------------------------

    def _names(self) -> list[dict[str, Any]]:
        # Object identities do not depend on the placeholders.
        return render_manifest("10.0.0.10")

    def _get(self, obj: Mapping[str, Any]) -> JsonObject | None:
        with kube_errors(f"read {object_ref(obj)}"):
            try:
                return self._kube.read(obj)
            except KubeNotFound:
                return None

    def _apply(self, obj: Mapping[str, Any], *, dry_run: bool) -> JsonObject:
        ref = object_ref(obj)
        try:
            return self._kube.apply(obj, field_manager=self._field_manager, force=False, dry_run=dry_run)
        except KubeConflict as exc:
            # Server-side apply conflicts mean another manager owns a field netguard sets: retrying
            # will not change that, and netguard does not take fields by force.
            raise ActuatorError(f"apply {ref}: fields owned by another manager: {exc.api_message}") from exc
        except KubeApiError as exc:
            raise kube_error(exc, f"apply {ref}") from exc

    def _undo(self, objects: Sequence[Mapping[str, Any]]) -> None:
        for obj in reversed(objects):
            try:
                self._kube.delete(obj)
            except KubeApiError as exc:
                logger.warning("could not remove %s after a failed enable: %s", object_ref(obj), exc)
