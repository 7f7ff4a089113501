"""An in-memory API server for actuator unit tests: get, merge patch, server-side apply, delete.

Objects live by API path. Writes bump `resourceVersion`, record a `managedFields` entry for their
field manager, honour a `metadata.resourceVersion` precondition (409 on mismatch) and `dry_run`.
`deployments/NAME/scale` is served from the Deployment, like the real subresource. Every request is
recorded in `.requests` as (verb, path, dry_run). Not a fixture module.
"""

from __future__ import annotations

import copy
from typing import Any

from netguard.clients.kubernetes import KubeApiError, KubeConflict, KubeNotFound

JsonObject = dict[str, Any]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class FakeApiServer:
    def __init__(self) -> None:
        self.objects: dict[str, JsonObject] = {}
        self.requests: list[tuple[str, str, bool]] = []
        self.failures: dict[tuple[str, str], KubeApiError] = {}
        """(verb, path) -> error raised instead of serving."""
        self._version = 100

    # --- set-up --------------------------------------------------------------------------------

    def put(self, path: str, obj: JsonObject) -> JsonObject:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("name", path.rsplit("/", 1)[1])
        meta["resourceVersion"] = self._next()
        meta.setdefault("generation", 1)
        self.objects[path] = obj
        return obj

    def fail(self, verb: str, path: str, error: KubeApiError) -> None:
        self.failures[(verb, path)] = error

    def writes(self) -> list[tuple[str, str, bool]]:
        return [r for r in self.requests if r[0] != "GET"]

    # --- the KubeClient verbs ------------------------------------------------------------------

    def get(self, path: str) -> JsonObject:
        self._record("GET", path, False)
        if path.endswith("/scale"):
            deployment = self._existing(path.removesuffix("/scale"), "GET")
            return self._scale(deployment)
        return copy.deepcopy(self._existing(path, "GET"))

    def patch(
        self,
        path: str,
        body: Any,
        *,
        patch_type: str = "merge",
        field_manager: str = "netguard",
        dry_run: bool = False,
    ) -> JsonObject:
        assert patch_type == "merge", patch_type
        self._record("PATCH", path, dry_run)
        scale = path.endswith("/scale")
        target_path = path.removesuffix("/scale") if scale else path
        current = self._existing(target_path, "PATCH")
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise KubeConflict(409, "Conflict", "the object has been modified", verb="PATCH", path=path)
        if scale:
            body = {"spec": {"replicas": body["spec"]["replicas"]}}
        else:
            body = {k: v for k, v in body.items() if k != "metadata"}
        updated = merge_patch(current, body)
        self._write(target_path, current, updated, field_manager, "Update", dry_run=dry_run)
        return self._scale(updated) if scale else copy.deepcopy(updated)

    def apply(
        self,
        path: str,
        body: JsonObject,
        *,
        field_manager: str = "netguard",
        force: bool = False,
        dry_run: bool = False,
    ) -> JsonObject:
        self._record("APPLY", path, dry_run)
        current = self.objects.get(path)
        if current is None:
            updated = copy.deepcopy(body)
            updated["metadata"].pop("resourceVersion", None)
            updated["metadata"]["generation"] = 1
            current = {"metadata": {"resourceVersion": ""}}
        else:
            updated = merge_patch(current, body)
        self._write(path, current, updated, field_manager, "Apply", dry_run=dry_run)
        return copy.deepcopy(updated)

    def delete(self, path: str, *, propagation: str = "Background", dry_run: bool = False) -> JsonObject:
        self._record("DELETE", path, dry_run)
        obj = self._existing(path, "DELETE")
        if not dry_run:
            del self.objects[path]
        return copy.deepcopy(obj)

    # --- internals -----------------------------------------------------------------------------

    def _next(self) -> str:
        self._version += 1
        return str(self._version)

    def _record(self, verb: str, path: str, dry_run: bool) -> None:
        self.requests.append((verb, path, dry_run))
        error = self.failures.get((verb, path))
        if error is not None:
            raise error

    def _existing(self, path: str, verb: str) -> JsonObject:
        if path not in self.objects:
            raise KubeNotFound(404, "NotFound", f"{path} not found", verb=verb, path=path)
        return self.objects[path]

    def _write(
        self,
        path: str,
        current: JsonObject,
        updated: JsonObject,
        manager: str,
        operation: str,
        *,
        dry_run: bool,
    ) -> None:
        meta = updated["metadata"]
        before = {k: v for k, v in current.items() if k not in ("metadata", "status")}
        after = {k: v for k, v in updated.items() if k not in ("metadata", "status")}
        labels_changed = (current["metadata"].get("labels") or {}) != (meta.get("labels") or {})
        if before == after and not labels_changed and current["metadata"]["resourceVersion"]:
            return
        meta["resourceVersion"] = self._next()
        fields = [f for f in meta.get("managedFields") or [] if f.get("manager") != manager]
        meta["managedFields"] = [*fields, {"manager": manager, "operation": operation}]
        if dry_run:
            meta["resourceVersion"] = current["metadata"]["resourceVersion"] or ""
            return
        self.objects[path] = updated

    @staticmethod
    def _scale(deployment: JsonObject) -> JsonObject:
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": deployment["metadata"]["name"],
                "resourceVersion": deployment["metadata"]["resourceVersion"],
            },
            "spec": {"replicas": deployment.get("spec", {}).get("replicas", 1)},
            "status": {"replicas": deployment.get("status", {}).get("replicas", 0)},
        }
