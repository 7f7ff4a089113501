"""A local endpoint that speaks the EKS REST-JSON protocol for managed add-ons (moto has none).

Used by the tests (fixtures in tests/support/eks_addons.py) and by the local stack's `addon` scenario.

Serves DescribeAddon, UpdateAddon and DescribeAddonConfiguration, validates configuration values
against a JSON schema shaped like EKS's coredns one (unknown keys rejected, as EKS does), applies
accepted updates at once and records every request. A real boto3 client points at it with
`endpoint_url`, so botocore's serialization and error parsing are exercised too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import jsonschema
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"

_REPLICAS = {"type": "integer", "minimum": 0}
COREDNS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "affinity": {"type": ["object", "null"]},
        "autoScaling": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "minReplicas": {"type": "integer", "minimum": 2, "maximum": 1000},
                "maxReplicas": {"type": "integer", "minimum": 2, "maximum": 1000},
            },
            "required": ["enabled"],
        },
        "computeType": {"type": "string"},
        "corefile": {"type": "string"},
        "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
        "podAnnotations": {"type": "object"},
        "podDisruptionBudget": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "maxUnavailable": {"type": ["integer", "string"]},
                "minAvailable": {"type": ["integer", "string"]},
            },
        },
        "podLabels": {"type": "object"},
        "priorityClassName": {"type": "string"},
        "replicaCount": _REPLICAS,
        "resources": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"limits": {"type": "object"}, "requests": {"type": "object"}},
        },
        "tolerations": {"type": "array"},
        "topologySpreadConstraints": {"type": "array"},
    },
}
"""Shaped like the schema DescribeAddonConfiguration returns for coredns (recent versions)."""

OLD_COREDNS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {"corefile": {"type": "string"}},
}
"""An early add-on version that knows no replica settings."""


@dataclass
class Addon:
    cluster: str
    name: str = "coredns"
    version: str = "v1.11.4-eksbuild.2"
    status: str = "ACTIVE"
    configuration_values: str = ""

    def describe(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "addonName": self.name,
            "clusterName": self.cluster,
            "status": self.status,
            "addonVersion": self.version,
            "health": {"issues": []},
            "addonArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:addon/{self.cluster}/{self.name}/0",
            "createdAt": 1_700_000_000,
            "modifiedAt": time.time(),
            "tags": {},
        }
        if self.configuration_values:
            body["configurationValues"] = self.configuration_values
        return body


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any]


@dataclass
class EksAddonEndpoint:
    url: str
    addons: dict[tuple[str, str], Addon] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Configuration schema by add-on version; versions not listed get `COREDNS_SCHEMA`."""
    requests: list[Request] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)
    """(HTTP status, error code) answered, in order, before serving normally again."""
    on_update: Callable[[Addon, dict[str, Any]], None] | None = None
    """Called with the add-on and its parsed values after an accepted UpdateAddon (e.g. to scale)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, cluster: str, *, values: dict[str, Any] | str | None = None, **kwargs: Any) -> Addon:
        text = values if isinstance(values, str) else json.dumps(values) if values else ""
        addon = Addon(cluster=cluster, configuration_values=text, **kwargs)
        self.addons[(cluster, addon.name)] = addon
        return addon

    def values(self, cluster: str, name: str = "coredns") -> dict[str, Any]:
        text = self.addons[(cluster, name)].configuration_values
        return json.loads(text) if text else {}

    def updates(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/update")]

    def client(self) -> Any:
        return boto3.client(
            "eks",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 -- the local endpoint accepts any
            config=Config(retries={"total_max_attempts": 1}),  # tests see each injected failure
        )

    def reset(self) -> None:
        with self.lock:
            self.addons.clear()
            self.schemas.clear()
            self.requests.clear()
            self.failures.clear()
            self.on_update = None

    # --- the protocol ----------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        parsed = urlparse(raw_path)
        path = unquote(parsed.path)
        query = parse_qs(parsed.query)
        payload = json.loads(body) if body else {}
        with self.lock:
            self.requests.append(Request(method, path, query, payload))
            if self.failures:
                status, code = self.failures.pop(0)
                return _error(status, code, f"injected {code}")
            parts = path.strip("/").split("/")
            if method == "GET" and parts == ["addons", "configuration-schemas"]:
                name, version = query.get("addonName", [""])[0], query.get("addonVersion", [""])[0]
                schema = self.schemas.get(version, COREDNS_SCHEMA)
                return (
                    200,
                    {},
                    {
                        "addonName": name,
                        "addonVersion": version,
                        "configurationSchema": json.dumps(schema),
                        "podIdentityConfiguration": [],
                    },
                )
            if len(parts) >= 4 and parts[0] == "clusters" and parts[2] == "addons":
                addon = self.addons.get((parts[1], parts[3]))
                if addon is None:
                    return _error(404, "ResourceNotFoundException", f"No addon: {parts[3]} found in cluster")
                if method == "GET" and len(parts) == 4:
                    return 200, {}, {"addon": addon.describe()}
                if method == "POST" and parts[4:] == ["update"]:
                    return self._update(addon, payload)
            return _error(404, "NotFoundException", f"no route for {method} {path}")

    def _update(self, addon: Addon, payload: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        if addon.status in ("CREATING", "UPDATING", "DELETING"):
            return _error(409, "ResourceInUseException", f"addon {addon.name} is {addon.status}")
        text = payload.get("configurationValues")
        params = [{"type": "ResolveConflicts", "value": payload.get("resolveConflicts", "")}]
        if text is not None:
            try:
                values = json.loads(text)
                jsonschema.validate(values, self.schemas.get(addon.version, COREDNS_SCHEMA))
            except (ValueError, jsonschema.ValidationError) as exc:
                return _error(400, "InvalidParameterException", f"ConfigurationValue is not valid: {exc}")
            addon.configuration_values = text
            params.append({"type": "ConfigurationValues", "value": text})
            if self.on_update is not None:
                self.on_update(addon, values)
        update = {
            "id": f"update-{len(self.updates())}",
            "status": "InProgress",
            "type": "AddonUpdate",
            "params": params,
            "createdAt": time.time(),
            "errors": [],
        }
        return 200, {}, {"update": update}


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    return status, {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/"}, {"message": message}


class _Handler(BaseHTTPRequestHandler):
    endpoint: EksAddonEndpoint

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        status, headers, body = self.endpoint.handle(self.command, self.path, self.rfile.read(length))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve() -> tuple[EksAddonEndpoint, Callable[[], None]]:
    """Start an endpoint on a free loopback port in a daemon thread; returns it and its stop function."""
    endpoint = EksAddonEndpoint(url="")
    handler = type("_BoundHandler", (_Handler,), {"endpoint": endpoint})  # one endpoint per server
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="eks-addons", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return endpoint, stop
