"""An in-memory API server for actuator unit tests: get, merge patch, server-side apply, delete.

Objects live by API path. Writes bump `resourceVersion`, record a `managedFields` entry for their
field manager, honour a `metadata.resourceVersion` precondition (409 on mismatch) and `dry_run`.
`deployments/NAME/scale` is served from the Deployment, like the real subresource. Every request is
recorded in `.requests` as (verb, path, dry_run), server-side apply as verb APPLY. It is a real
`Kube` (the official client) whose transport is this in-memory server. Not a fixture module.
"""

from __future__ import annotations

import copy
from typing import Any

from netguard.clients.kubernetes import APPLY_PATCH, MERGE_PATCH, Kube, KubeApiError
from tests.support.fakekube import HttpStatus, memory_kube

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


class FakeApiServer(Kube):
    def __init__(self) -> None:
        super().__init__(memory_kube(self._serve))
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

    # --- the verbs the official client sends --------------------------------------------------

    def _serve(
        self, verb: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        dry_run = query.get("dryRun") == "All"
        content_type = headers.get("Content-Type", "")
        manager = query.get("fieldManager", "")
        if verb == "GET":
            return 200, self.serve_get(path)
        if verb == "PATCH" and content_type == APPLY_PATCH:
            return 200, self.serve_apply(path, body, field_manager=manager, dry_run=dry_run)
        if verb == "PATCH":
            assert content_type == MERGE_PATCH, content_type
            return 200, self.serve_patch(path, body, field_manager=manager, dry_run=dry_run)
        if verb == "DELETE":
            return 200, self.serve_delete(path, dry_run=dry_run)
        raise HttpStatus(405, "MethodNotAllowed", f"{verb} {path}")

    def serve_get(self, path: str) -> JsonObject:
        self._record("GET", path, False)
        if path.endswith("/scale"):
            deployment = self._existing(path.removesuffix("/scale"), "GET")
            return self._scale(deployment)
        return copy.deepcopy(self._existing(path, "GET"))

    def serve_patch(
        self,
        path: str,
        body: Any,
        *,
        field_manager: str = "netguard",
        dry_run: bool = False,
    ) -> JsonObject:
        self._record("PATCH", path, dry_run)
        scale = path.endswith("/scale")
        target_path = path.removesuffix("/scale") if scale else path
        current = self._existing(target_path, "PATCH")
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise HttpStatus(409, "Conflict", "the object has been modified")
        if scale:
            body = {"spec": {"replicas": body["spec"]["replicas"]}}
        else:
            body = {k: v for k, v in body.items() if k != "metadata"}
        updated = merge_patch(current, body)
        self._write(target_path, current, updated, field_manager, "Update", dry_run=dry_run)
        return self._scale(updated) if scale else copy.deepcopy(updated)

    def serve_apply(
        self,
        path: str,
        body: JsonObject,
        *,
        field_manager: str = "netguard",
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

    def serve_delete(self, path: str, *, dry_run: bool = False) -> JsonObject:
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
            raise HttpStatus(404, "NotFound", f"{path} not found")
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
