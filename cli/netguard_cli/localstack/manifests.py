"""Kubernetes manifests as plain dicts: loading multi-document YAML, API paths, server-side apply.

Used by the local cluster's seeding, by `netguard cluster up` to apply deploy/rbac/, and by tests
that must apply exactly the files the project ships.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from netguard.clients.kubernetes import JsonObject, Kube, KubeNotFound
from netguard.errors import NetguardError

# kind -> (plural resource, namespaced). Only the kinds netguard's manifests use.
RESOURCES: Mapping[str, tuple[str, bool]] = {
    "Namespace": ("namespaces", False),
    "Node": ("nodes", False),
    "ServiceAccount": ("serviceaccounts", True),
    "Service": ("services", True),
    "ConfigMap": ("configmaps", True),
    "Secret": ("secrets", True),
    "Pod": ("pods", True),
    "Deployment": ("deployments", True),
    "DaemonSet": ("daemonsets", True),
    "ReplicaSet": ("replicasets", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", True),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", True),
    "ClusterRole": ("clusterroles", False),
    "ClusterRoleBinding": ("clusterrolebindings", False),
    "Role": ("roles", True),
    "RoleBinding": ("rolebindings", True),
}


class ManifestError(NetguardError):
    """A manifest is malformed or of a kind this module does not know."""


def load_documents(source: str | Path) -> list[JsonObject]:
    """Every non-empty document of a YAML file (or YAML text), in order; `List` kinds are flattened."""
    text = source.read_text() if isinstance(source, Path) else source
    documents: list[JsonObject] = []
    for document in yaml.safe_load_all(text):
        if not document:
            continue
        if not isinstance(document, dict):
            raise ManifestError(f"a manifest document is a {type(document).__name__}, not a mapping")
        if document.get("kind") == "List":
            documents.extend(document.get("items") or [])
        else:
            documents.append(document)
    return documents


def load_directory(directory: Path) -> list[JsonObject]:
    """Every document of every `*.yaml` file in `directory`, files in name order."""
    documents: list[JsonObject] = []
    for path in sorted(directory.glob("*.yaml")):
        documents.extend(load_documents(path))
    return documents


def collection_path(manifest: Mapping[str, Any], namespace: str | None = None) -> str:
    """`/apis/apps/v1/namespaces/kube-system/deployments` for a Deployment in kube-system."""
    api_version = str(manifest.get("apiVersion", ""))
    kind = str(manifest.get("kind", ""))
    if kind not in RESOURCES or not api_version:
        raise ManifestError(f"unknown kind {api_version}/{kind}")
    plural, namespaced = RESOURCES[kind]
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if not namespaced:
        return f"{prefix}/{plural}"
    ns = namespace or (manifest.get("metadata") or {}).get("namespace") or "default"
    return f"{prefix}/namespaces/{ns}/{plural}"


def object_path(manifest: Mapping[str, Any], namespace: str | None = None) -> str:
    """The API path of the object a manifest describes."""
    name = (manifest.get("metadata") or {}).get("name")
    if not name:
        raise ManifestError(f"{manifest.get('kind')} without metadata.name")
    return f"{collection_path(manifest, namespace)}/{name}"


def located(manifest: Mapping[str, Any], namespace: str | None = None) -> JsonObject:
    """The manifest with its namespace set when its kind is namespaced (`default` when none is
    given), as `Kube.apply/read/delete` pick the namespaced typed method from it."""
    object_path(manifest, namespace)  # checks kind and name
    if not RESOURCES[str(manifest["kind"])][1]:
        return dict(manifest)
    meta = dict(manifest.get("metadata") or {})
    meta["namespace"] = namespace or meta.get("namespace") or "default"
    return {**manifest, "metadata": meta}


def apply_all(
    client: Kube,
    manifests: Iterable[Mapping[str, Any]],
    *,
    field_manager: str,
    force: bool = True,
) -> list[JsonObject]:
    """Server-side apply every manifest in order; returns the objects as the server stored them."""
    return [client.apply(located(m), field_manager=field_manager, force=force) for m in manifests]


def delete_all(client: Kube, manifests: Iterable[Mapping[str, Any]]) -> list[str]:
    """Delete what the manifests name, in reverse order, skipping what is gone; returns the paths deleted."""
    deleted: list[str] = []
    for manifest in reversed(list(manifests)):
        path = object_path(manifest)
        try:
            client.delete(located(manifest))
        except KubeNotFound:
            continue
        deleted.append(path)
    return deleted
